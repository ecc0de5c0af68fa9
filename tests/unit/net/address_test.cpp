#include "voxfork/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace voxfork::net {
namespace {

Address address(std::string_view text) {
    auto parsed = Address::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(Address{});
}

TEST(Address, ParsesAndPrintsBothFamilies) {
    auto v4 = address("192.0.2.1");
    EXPECT_TRUE(v4.is_v4());
    EXPECT_EQ(v4.v4_host_order(), 0xc0000201u);
    EXPECT_EQ(v4.to_string(), "192.0.2.1");
    EXPECT_EQ(v4.to_uri_host(), "192.0.2.1");

    auto v6 = address("2001:DB8:0:0:0:0:0:1");
    EXPECT_TRUE(v6.is_v6());
    EXPECT_EQ(v6.v4_host_order(), 0u);
    EXPECT_EQ(v6.to_string(), "2001:db8::1");  // RFC 5952: lower case, longest zero run compressed
    EXPECT_EQ(v6.to_uri_host(), "[2001:db8::1]");
    EXPECT_EQ(address("2001:db8:0:1:0:0:0:1").to_string(), "2001:db8:0:1::1");
}

TEST(Address, RefusesWhatIsNotAnAddress) {
    for (std::string_view text : {"", "10.1", "256.0.0.1", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4 ", "example.com",
                                  "[::1]", "::1::2", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "::g",
                                  "0123456789012345678901234567890123456789012345678901234567890"}) {
        EXPECT_FALSE(Address::parse(text)) << text;
    }
}

TEST(Address, FamiliesNeverCompareEqual) {
    // The v4-mapped IPv6 form of an address is a different address for the
    // daemon: its sockets report IPv4 peers as IPv4.
    auto mapped = address("::ffff:192.0.2.1");
    EXPECT_TRUE(mapped.is_v6());
    EXPECT_NE(mapped, address("192.0.2.1"));
    EXPECT_EQ(mapped.bytes(), address("192.0.2.1").bytes());
    EXPECT_EQ(Address{}, address("0.0.0.0"));
}

TEST(Address, LoopbackAndUnspecified) {
    EXPECT_TRUE(address("127.0.0.1").is_loopback());
    EXPECT_TRUE(address("127.9.9.9").is_loopback());
    EXPECT_TRUE(address("::1").is_loopback());
    EXPECT_FALSE(address("::2").is_loopback());
    EXPECT_FALSE(address("128.0.0.1").is_loopback());
    EXPECT_EQ(Address::loopback(Family::v6).to_string(), "::1");
    EXPECT_EQ(Address::loopback(Family::v4).to_string(), "127.0.0.1");
    EXPECT_TRUE(address("::").is_unspecified());
    EXPECT_TRUE(address("0.0.0.0").is_unspecified());
    EXPECT_FALSE(address("::1").is_unspecified());
}

TEST(Endpoint, ParsesBracketedIpv6AndPlainIpv4) {
    auto v4 = Endpoint::parse("192.0.2.1:5060");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->address, address("192.0.2.1"));
    EXPECT_EQ(v4->port, 5060);
    EXPECT_EQ(v4->to_string(), "192.0.2.1:5060");

    auto v6 = Endpoint::parse("[2001:db8::1]:443");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->address, address("2001:db8::1"));
    EXPECT_EQ(v6->port, 443);
    EXPECT_EQ(v6->to_string(), "[2001:db8::1]:443");
}

TEST(Endpoint, RefusesAmbiguousOrIncompleteForms) {
    for (std::string_view text : {"", "192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536",
                                  "192.0.2.1:080", "192.0.2.1:+80", "192.0.2.1:80x", "2001:db8::1:443",
                                  "[2001:db8::1]", "[2001:db8::1]443", "[2001:db8::1:443", "[192.0.2.1]:80",
                                  "host:80", "[]:80", ":80"}) {
        EXPECT_FALSE(Endpoint::parse(text)) << text;
    }
    EXPECT_TRUE(Endpoint::parse("192.0.2.1:65535"));
}

TEST(Endpoint, RoundTripsThroughSocketAddresses) {
    for (std::string_view text : {"192.0.2.1:5060", "[2001:db8::7]:6000", "[::1]:1"}) {
        auto endpoint = Endpoint::parse(text);
        ASSERT_TRUE(endpoint) << text;
        sockaddr_storage storage;
        auto length = endpoint->to_sockaddr(storage);
        EXPECT_EQ(length, endpoint->address.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        auto back = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage));
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(*back, *endpoint);
    }
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(7000);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto from_kernel = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4));
    ASSERT_TRUE(from_kernel);
    EXPECT_EQ(from_kernel->to_string(), "127.0.0.1:7000");
    sockaddr unix_socket{};
    unix_socket.sa_family = AF_UNIX;
    EXPECT_FALSE(Endpoint::from_sockaddr(&unix_socket));
    EXPECT_FALSE(Address::from_sockaddr(nullptr));
}

TEST(Network, PrefixesOfBothFamilies) {
    auto ten = Network::parse("10.0.0.0/8");
    ASSERT_TRUE(ten);
    EXPECT_TRUE(ten->contains(address("10.200.3.4")));
    EXPECT_FALSE(ten->contains(address("11.0.0.1")));
    EXPECT_FALSE(ten->contains(address("::ffff:10.0.0.1")));  // another family
    EXPECT_EQ(ten->ipv4_mask(), 0xff000000u);
    EXPECT_EQ(ten->to_string(), "10.0.0.0/8");

    auto documentation = Network::parse("2001:db8::/32");
    ASSERT_TRUE(documentation);
    EXPECT_TRUE(documentation->contains(address("2001:db8:ffff::1")));
    EXPECT_FALSE(documentation->contains(address("2001:db9::1")));
    EXPECT_FALSE(documentation->contains(address("10.0.0.1")));
    EXPECT_EQ(documentation->ipv4_mask(), 0u);

    // A prefix that ends inside a byte.
    auto odd = Network::parse("2001:db8:8000::/33");
    ASSERT_TRUE(odd);
    EXPECT_TRUE(odd->contains(address("2001:db8:ffff::1")));
    EXPECT_FALSE(odd->contains(address("2001:db8:7fff::1")));
    auto v4_odd = Network::parse("192.168.4.0/22");
    ASSERT_TRUE(v4_odd);
    EXPECT_TRUE(v4_odd->contains(address("192.168.7.255")));
    EXPECT_FALSE(v4_odd->contains(address("192.168.8.0")));
}

TEST(Network, HostsAndEverything) {
    auto host = Network::parse("::1");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->prefix_length, 128);
    EXPECT_TRUE(host->contains(address("::1")));
    EXPECT_FALSE(host->contains(address("::2")));
    EXPECT_EQ(Network::parse("192.0.2.1")->prefix_length, 32);

    auto all_v4 = Network::parse("0.0.0.0/0");
    ASSERT_TRUE(all_v4);
    EXPECT_TRUE(all_v4->contains(address("203.0.113.9")));
    EXPECT_FALSE(all_v4->contains(address("::1")));
    EXPECT_EQ(all_v4->ipv4_mask(), 0u);
    EXPECT_TRUE(Network::parse("::/0")->contains(address("2001:db8::1")));
}

TEST(Network, RefusesBadPrefixes) {
    for (std::string_view text : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08", "::/129", "/8",
                                  "10.0.0.0/8/8", "example/8"}) {
        EXPECT_FALSE(Network::parse(text)) << text;
    }
}

TEST(Network, WithoutHostBits) {
    EXPECT_EQ(Network::parse("10.1.2.3/8")->without_host_bits().to_string(), "10.0.0.0/8");
    EXPECT_EQ(Network::parse("10.1.2.3/32")->without_host_bits().to_string(), "10.1.2.3/32");
    EXPECT_EQ(Network::parse("10.1.2.3/0")->without_host_bits().to_string(), "0.0.0.0/0");
    EXPECT_EQ(Network::parse("2001:db8:ffff::1/33")->without_host_bits().to_string(), "2001:db8:8000::/33");
    EXPECT_EQ(Network::parse("2001:db8::1/128")->without_host_bits().to_string(), "2001:db8::1/128");
    EXPECT_EQ(Network::parse("2001:db8::1/0")->without_host_bits().to_string(), "::/0");
}

TEST(Network, FromIpv4MaskAsIosWritesIt) {
    auto net = Network::from_ipv4_mask(0x0a000000u, 0xffff0000u);
    ASSERT_TRUE(net);
    EXPECT_EQ(net->prefix_length, 16);
    EXPECT_EQ(net->ipv4_mask(), 0xffff0000u);
    EXPECT_EQ(Network::from_ipv4_mask(0x0a000001u, 0xffffffffu)->prefix_length, 32);
    EXPECT_EQ(Network::from_ipv4_mask(0, 0)->prefix_length, 0);
    EXPECT_FALSE(Network::from_ipv4_mask(0x0a000000u, 0xff00ff00u));  // not contiguous
    EXPECT_FALSE(Network::from_ipv4_mask(0x0a000000u, 0x00ffffffu));
}

}  // namespace
}  // namespace voxfork::net
