// Literals as forking requests write them, and the order a name's addresses
// are tried in.
#include <gtest/gtest.h>

#include <voxfork/dns.hpp>

namespace voxfork::dns {
namespace {

net::Address a(const char* text) {
    return *net::Address::parse(text);
}

TEST(ParseLiteral, Ipv4BareIpv6BareOrBracketed) {
    EXPECT_EQ(parse_literal("127.0.0.1"), a("127.0.0.1"));
    EXPECT_EQ(parse_literal("::1"), a("::1"));
    EXPECT_EQ(parse_literal("[::1]"), a("::1"));
    EXPECT_EQ(parse_literal("[2001:DB8::1]"), a("2001:db8::1"));
}

TEST(ParseLiteral, NamesAndMalformedAreNotLiterals) {
    EXPECT_EQ(parse_literal("asr.lab.example"), std::nullopt);
    EXPECT_EQ(parse_literal(""), std::nullopt);
    EXPECT_EQ(parse_literal("[]"), std::nullopt);
    EXPECT_EQ(parse_literal("[127.0.0.1]"), std::nullopt);  // brackets are for IPv6
    EXPECT_EQ(parse_literal("[::1"), std::nullopt);
    EXPECT_EQ(parse_literal("::1]"), std::nullopt);
    EXPECT_EQ(parse_literal("[::1]:443"), std::nullopt);
    EXPECT_EQ(parse_literal("fe80::1%eth0"), std::nullopt);
    EXPECT_EQ(parse_literal("127.0.0"), std::nullopt);
}

TEST(ConnectOrder, FamiliesInterleavedIpv6First) {
    const std::vector<net::Address> answer = {a("192.0.2.1"), a("192.0.2.2"), a("192.0.2.3"), a("2001:db8::1"),
                                              a("2001:db8::2")};
    EXPECT_EQ(connect_order(answer), (std::vector<net::Address>{a("2001:db8::1"), a("192.0.2.1"), a("2001:db8::2"),
                                                                a("192.0.2.2"), a("192.0.2.3")}));
}

TEST(ConnectOrder, OneFamilyKeepsItsOrder) {
    const std::vector<net::Address> v4 = {a("192.0.2.9"), a("192.0.2.1")};
    EXPECT_EQ(connect_order(v4), v4);
    const std::vector<net::Address> v6 = {a("2001:db8::9"), a("::1")};
    EXPECT_EQ(connect_order(v6), v6);
    EXPECT_TRUE(connect_order({}).empty());
}

TEST(ConnectOrder, RepeatedAddressesAreTriedOnce) {
    const std::vector<net::Address> answer = {a("::1"), a("127.0.0.1"), a("::1"), a("127.0.0.1")};
    EXPECT_EQ(connect_order(answer), (std::vector<net::Address>{a("::1"), a("127.0.0.1")}));
}

}  // namespace
}  // namespace voxfork::dns
