#include <gtest/gtest.h>

#include "sip/routing.hpp"
#include "sip/stack.hpp"

namespace voxfork::sip::routing {
namespace {

TEST(DisplayName, QuotesAndEscapesGoTokensStay) {
    EXPECT_EQ(display_name("\"caller\""), "caller");
    EXPECT_EQ(display_name("\"Alice \\\"A\\\" Smith\""), "Alice \"A\" Smith");
    EXPECT_EQ(display_name("Bob"), "Bob");
    EXPECT_EQ(display_name("\"\""), "");
    EXPECT_EQ(display_name("\""), "\"");
}

config::DialPeer peer(std::uint32_t tag, config::SessionTarget::Kind kind, std::string host, std::uint16_t port) {
    config::DialPeer p;
    p.tag = tag;
    p.session_target = config::SessionTarget{kind, std::move(host), port};
    return p;
}

TEST(Routing, ExplicitTrustedListIsUsedAlone) {
    config::Config c;
    c.voip.trusted.push_back(net::Network::host(net::Address::v4(0x7f000002u)));
    c.dial_peers[1] = peer(1, config::SessionTarget::Kind::ipv4, "127.0.0.1", 5060);
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000002u), {}));
    EXPECT_FALSE(is_trusted(c, net::Address::v4(0x7f000001u), {}));  // a target, but the list says otherwise
    c.voip.trusted = {*net::Network::parse("10.0.0.0/8"), *net::Network::parse("::1")};
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x0a0102ffu), {}));
    EXPECT_FALSE(is_trusted(c, net::Address::v4(0x0b000001u), {}));
    EXPECT_FALSE(is_trusted(c, net::Address::v4(0x7f000007u), {net::Address::v4(0x7f000007u)}));  // a dns: target's address, but the list says otherwise
}

TEST(Routing, DefaultTrustsSessionTargetsAndIpHosts) {
    config::Config c;
    c.dial_peers[1] = peer(1, config::SessionTarget::Kind::ipv4, "127.0.0.5", 5060);
    c.dial_peers[2] = peer(2, config::SessionTarget::Kind::dns, "agents.lab", 5060);
    c.dial_peers[3] = peer(3, config::SessionTarget::Kind::dns, "unknown.lab", 5060);
    c.ip_hosts["agents.lab"] = net::Address::v4(0x7f000006u);
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000005u), {}));
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000006u), {}));
    EXPECT_FALSE(is_trusted(c, net::Address::v4(0x7f000001u), {}));
    // A name only DNS knows: trusted by the address it was last looked up to.
    EXPECT_EQ(dns_only_targets(c), (std::vector<std::string>{"unknown.lab"}));
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000007u), {net::Address::v4(0x7f000007u)}));
}

TEST(Routing, Ipv6SourcesAreTrustedByIpv6EntriesAndTargetsOnly) {
    config::Config c;
    c.voip.trusted = {*net::Network::parse("2001:db8::/32"), *net::Network::parse("127.0.0.0/8")};
    EXPECT_TRUE(is_trusted(c, *net::Address::parse("2001:db8::7"), {}));
    EXPECT_FALSE(is_trusted(c, *net::Address::parse("2001:db9::7"), {}));
    EXPECT_FALSE(is_trusted(c, *net::Address::parse("::ffff:127.0.0.1"), {}));  // v4-mapped: not the IPv4 entry
    c.voip.trusted.clear();  // the default: the session targets
    c.dial_peers[1] = peer(1, config::SessionTarget::Kind::ipv6, "::1", 5060);
    c.dial_peers[2] = peer(2, config::SessionTarget::Kind::ipv4, "127.0.0.1", 5060);
    EXPECT_TRUE(is_trusted(c, *net::Address::parse("::1"), {}));
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000001u), {}));
    EXPECT_FALSE(is_trusted(c, *net::Address::parse("::2"), {net::Address::v4(0x7f000001u)}));
    c.dial_peers[1].shutdown = true;
    EXPECT_FALSE(is_trusted(c, *net::Address::parse("::1"), {}));
}

TEST(Routing, DefaultSkipsShutDownDialPeers) {
    config::Config c;
    c.dial_peers[1] = peer(1, config::SessionTarget::Kind::ipv4, "127.0.0.5", 5060);
    c.dial_peers[2] = peer(2, config::SessionTarget::Kind::dns, "agents.lab", 5060);
    c.ip_hosts["agents.lab"] = net::Address::v4(0x7f000006u);
    c.dial_peers[4] = peer(4, config::SessionTarget::Kind::dns, "idle.lab", 5060);
    c.dial_peers[1].shutdown = true;
    c.dial_peers[2].shutdown = true;
    c.dial_peers[4].shutdown = true;
    EXPECT_TRUE(dns_only_targets(c).empty());
    EXPECT_FALSE(is_trusted(c, net::Address::v4(0x7f000005u), {}));
    EXPECT_FALSE(is_trusted(c, net::Address::v4(0x7f000006u), {}));
    c.dial_peers[3] = peer(3, config::SessionTarget::Kind::ipv4, "127.0.0.5", 5070);  // same address, in use
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000005u), {}));
}

// Host names are case-insensitive: the parser stores `ip host` names lower-cased.
TEST(Routing, IpHostNamesMatchWhateverTheirCase) {
    const auto result = config::parse(
        "ip host Agents.LAB 127.0.0.6\n"
        "dial-peer voice 1 voip\n session target dns:agents.Lab:7000\n"
        "dial-peer voice 2 voip\n session target dns:AGENTS.lab.\n",
        "test.conf");
    ASSERT_TRUE(result.config);
    const auto& c = *result.config;
    EXPECT_TRUE(is_trusted(c, net::Address::v4(0x7f000006u), {}));
    const auto t1 = target_of(c, c.dial_peers.at(1));
    const auto t2 = target_of(c, c.dial_peers.at(2));
    ASSERT_TRUE(t1 && t2);
    EXPECT_EQ(t1->address, net::Address::v4(0x7f000006u));
    EXPECT_EQ(t1->host, "agents.Lab");  // as configured
    EXPECT_EQ(t2->address, net::Address::v4(0x7f000006u));
}

TEST(Routing, TargetsAndRequestUris) {
    config::Config c;
    c.ip_hosts["agents.lab"] = net::Address::v4(0x7f000006u);
    auto p = peer(1, config::SessionTarget::Kind::dns, "agents.lab", 7000);
    p.transport = config::Transport::tcp;
    auto t = target_of(c, p);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->address, net::Address::v4(0x7f000006u));
    EXPECT_EQ(t->address->family(), net::Family::v4);
    EXPECT_TRUE(t->tcp);
    EXPECT_EQ(request_uri("6777", *t->address, t->port, t->tcp), "sip:6777@127.0.0.6:7000;transport=tcp");
    auto unresolved = target_of(c, peer(2, config::SessionTarget::Kind::dns, "other.lab", 5060));
    EXPECT_FALSE(unresolved->address);
    EXPECT_FALSE(target_of(c, config::DialPeer{}));
    EXPECT_EQ(request_uri("", net::Address::v4(0x7f000001u), 5060, false), "sip:127.0.0.1:5060");
}

TEST(Routing, Ipv6TargetsNeedNoLookupAndAreBracketedInUris) {
    config::Config c;
    const auto t = target_of(c, peer(1, config::SessionTarget::Kind::ipv6, "2001:db8::5", 7060));
    ASSERT_TRUE(t && t->address);
    EXPECT_EQ(*t->address, *net::Address::parse("2001:db8::5"));
    EXPECT_EQ(t->address->family(), net::Family::v6);
    EXPECT_EQ(request_uri("6777", *t->address, t->port, false), "sip:6777@[2001:db8::5]:7060");
    EXPECT_EQ(request_uri("6777", *t->address, t->port, true), "sip:6777@[2001:db8::5]:7060;transport=tcp");
}

// An `ip host` entry of either family is a dns: target's address, for routing and trust.
TEST(Routing, AnIpv6IpHostServesADnsTarget) {
    config::Config c;
    c.ip_hosts["agents.lab"] = *net::Address::parse("2001:db8::6");
    c.dial_peers[1] = peer(1, config::SessionTarget::Kind::dns, "agents.lab", 7000);
    const auto t = target_of(c, c.dial_peers.at(1));
    ASSERT_TRUE(t && t->address);
    EXPECT_EQ(*t->address, *net::Address::parse("2001:db8::6"));
    EXPECT_TRUE(dns_only_targets(c).empty());
    EXPECT_TRUE(is_trusted(c, *net::Address::parse("2001:db8::6"), {}));
    EXPECT_FALSE(is_trusted(c, *net::Address::parse("2001:db8::7"), {}));
    EXPECT_TRUE(is_trusted(c, *net::Address::parse("2001:db8::7"), {*net::Address::parse("2001:db8::7")}));
}

}  // namespace
}  // namespace voxfork::sip::routing
