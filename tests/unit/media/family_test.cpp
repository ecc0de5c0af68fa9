// The relay on either family: legs on ::1, a call bridging an IPv4 leg and
// an IPv6 one, remotes of the wrong family refused, and the sequence lock
// that hands a 128-bit endpoint to the packet thread.
#include <thread>

#include "relay_fixture.hpp"
#include "session_slot.hpp"

namespace voxfork::media::test {
namespace {

using namespace std::chrono_literals;
using net::Family;

// `count` numbered packets from `from` to the relay's `to_port` arrive at
// `at` byte-exact, in order, from the relay's `relay_port` on the loopback
// address of `at`'s family.
void expect_stream(const UdpPeer& from, std::uint16_t to_port, const UdpPeer& at, std::uint16_t relay_port, int count) {
    std::vector<Bytes> sent;
    for (int i = 0; i < count; ++i) {
        sent.push_back(numbered(static_cast<std::uint16_t>(i)));
        from.send_to(to_port, sent.back());
    }
    const net::Address relay_address = at.endpoint().address.is_v6() ? loopback6() : loopback();
    for (int i = 0; i < count; ++i) {
        auto d = at.receive();
        ASSERT_TRUE(d.has_value()) << "packet " << i << " missing";
        EXPECT_EQ(d->data, sent[static_cast<std::size_t>(i)]) << "packet " << i;
        EXPECT_EQ(d->from_port, relay_port);
        EXPECT_EQ(d->from_address, relay_address);
    }
}

class FamilyTest : public RelayTest {
protected:
    Call connect_families(Family a, Family b, const UdpPeer& caller, const UdpPeer& callee) {
        Call call;
        const auto id = relay->allocate(a, b);
        EXPECT_TRUE(id.has_value());
        if (!id) return call;
        call.id = *id;
        call.port_a = relay->local_rtp_port(call.id, Leg::a);
        call.port_b = relay->local_rtp_port(call.id, Leg::b);
        EXPECT_TRUE(relay->set_remote(call.id, Leg::a, caller.endpoint(), {}));
        EXPECT_TRUE(relay->set_remote(call.id, Leg::b, callee.endpoint(), {}));
        return call;
    }

    void expect_both_ways(Family a, Family b) {
        UdpPeer caller(a == Family::v6 ? loopback6() : loopback());
        UdpPeer callee(b == Family::v6 ? loopback6() : loopback());
        const Call call = connect_families(a, b, caller, callee);
        ASSERT_NE(call.port_a, 0);
        expect_stream(caller, call.port_a, callee, call.port_b, 50);
        expect_stream(callee, call.port_b, caller, call.port_a, 50);
        EXPECT_TRUE(eventually([&] { return value(caller_counters().packets_relayed) == 50; }));
        EXPECT_TRUE(eventually([&] { return value(callee_counters().packets_relayed) == 50; }));
        EXPECT_EQ(value(caller_counters().bytes_relayed), 50u * 172);
        EXPECT_EQ(value(caller_counters().dropped_send_error), 0u);
        EXPECT_EQ(value(callee_counters().dropped_unexpected_source), 0u);
    }
};

TEST_F(FamilyTest, RelaysBetweenTwoIpv6Legs) {
    expect_both_ways(Family::v6, Family::v6);
}

TEST_F(FamilyTest, BridgesAnIpv4CallerAndAnIpv6Callee) {
    expect_both_ways(Family::v4, Family::v6);
}

TEST_F(FamilyTest, BridgesAnIpv6CallerAndAnIpv4Callee) {
    expect_both_ways(Family::v6, Family::v4);
}

TEST_F(FamilyTest, RelaysRtcpOnIpv6) {
    UdpPeer caller(loopback6()), callee(loopback()), caller_rtcp(loopback6()), callee_rtcp(loopback());
    const auto id = relay->allocate(Family::v6, Family::v4);
    ASSERT_TRUE(id);
    const std::uint16_t port_a = relay->local_rtp_port(*id, Leg::a), port_b = relay->local_rtp_port(*id, Leg::b);
    ASSERT_TRUE(relay->set_remote(*id, Leg::a, caller.endpoint(), caller_rtcp.endpoint()));
    ASSERT_TRUE(relay->set_remote(*id, Leg::b, callee.endpoint(), callee_rtcp.endpoint()));
    const Bytes rr{0x81, 201, 0, 1, 0x11, 0x22, 0x33, 0x44};
    caller_rtcp.send_to(static_cast<std::uint16_t>(port_a + 1), rr);
    auto d = callee_rtcp.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, rr);
    EXPECT_EQ(d->from_port, port_b + 1);
    callee_rtcp.send_to(static_cast<std::uint16_t>(port_b + 1), rr);
    d = caller_rtcp.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->from_address, loopback6());
    EXPECT_EQ(d->from_port, port_a + 1);
}

TEST_F(FamilyTest, ARemoteOfTheOtherFamilyIsRefusedAndChangesNothing) {
    UdpPeer caller(loopback6()), callee(loopback6()), v4(loopback());
    const Call call = connect_families(Family::v6, Family::v6, caller, callee);
    EXPECT_FALSE(relay->set_remote(call.id, Leg::b, v4.endpoint(), {}));
    EXPECT_FALSE(relay->set_remote(call.id, Leg::b, callee.endpoint(), v4.endpoint()));
    expect_stream(caller, call.port_a, callee, call.port_b, 3);  // still to the IPv6 callee
}

TEST_F(FamilyTest, HoldOfEitherSpellingStopsAnIpv6Leg) {
    UdpPeer caller(loopback6()), callee(loopback6());
    const Call call = connect_families(Family::v6, Family::v6, caller, callee);
    for (const net::Address& hold : {net::Address::any(Family::v6), net::Address::any(Family::v4)}) {
        ASSERT_TRUE(relay->set_remote(call.id, Leg::b, Endpoint{hold, callee.port()}, {}));
        caller.send_to(call.port_a, numbered(1));
        EXPECT_TRUE(callee.silent());
        ASSERT_TRUE(relay->set_remote(call.id, Leg::b, callee.endpoint(), {}));  // resumed
        expect_stream(caller, call.port_a, callee, call.port_b, 2);
    }
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_no_destination) == 2; }));
}

TEST_F(FamilyTest, AnIpv6LegLatchesOnTheSourcePortItSendsFrom) {
    UdpPeer caller(loopback6()), callee(loopback6());
    const auto id = relay->allocate(Family::v6, Family::v6);
    ASSERT_TRUE(id);
    const std::uint16_t port_a = relay->local_rtp_port(*id, Leg::a), port_b = relay->local_rtp_port(*id, Leg::b);
    // The caller announced a port it doesn't send from (NAT): the relay learns the real one.
    ASSERT_TRUE(relay->set_remote(*id, Leg::a, Endpoint{loopback6(), 9}, {}));
    ASSERT_TRUE(relay->set_remote(*id, Leg::b, callee.endpoint(), {}));
    expect_stream(caller, port_a, callee, port_b, 2);
    EXPECT_EQ(relay->latched(*id, Leg::a, false), caller.endpoint());
    const auto changes = relay->take_latch_changes();
    ASSERT_EQ(changes.size(), 1u);  // leg b's callee has sent nothing yet
    EXPECT_EQ(changes[0].leg, Leg::a);
    EXPECT_EQ(changes[0].source, caller.endpoint());
    EXPECT_FALSE(changes[0].moved);
    EXPECT_FALSE(changes[0].rtcp);
}

TEST_F(FamilyTest, StrictIpv6LegTakesItsSignalledAddressOnly) {
    UdpPeer caller(loopback6()), callee(loopback6());
    const Call call = connect_families(Family::v6, Family::v6, caller, callee);
    relay->set_latching(call.id, Leg::a, Latching::strict);
    relay->set_latching(call.id, Leg::b, Latching::strict);
    expect_stream(caller, call.port_a, callee, call.port_b, 3);
    expect_stream(callee, call.port_b, caller, call.port_a, 3);
    EXPECT_EQ(value(caller_counters().dropped_unexpected_source), 0u);
}

TEST(FamilyOptionsTest, AFamilyWithoutAnAddressCannotBeAllocated) {
    RelayOptions options = random_range(4);
    options.bind_address_ipv6.clear();
    auto relay = Relay::create(options);
    relay->start();
    EXPECT_FALSE(relay->allocate(Family::v4, Family::v6));
    EXPECT_FALSE(relay->allocate(Family::v6, Family::v6));
    EXPECT_EQ(relay->counters().allocation_failures.load(), 2u);
    EXPECT_EQ(relay->ports_free(), relay->ports_total());
    EXPECT_TRUE(relay->allocate());

    options.bind_address.clear();
    options.bind_address_ipv6 = "::1";
    auto v6_only = Relay::create(options);
    EXPECT_FALSE(v6_only->allocate());
}

TEST(FamilyOptionsTest, AnAddressOfTheWrongFamilyIsRefused) {
    RelayOptions v4;
    v4.bind_address = "::1";
    EXPECT_THROW(Relay::create(v4), std::invalid_argument);
    RelayOptions v6;
    v6.bind_address_ipv6 = "127.0.0.1";
    EXPECT_THROW(Relay::create(v6), std::invalid_argument);
}

// The hand-off itself: a reader never sees a Peer that was not written
// whole, while the writer changes every word on each store.
TEST(SharedPeerTest, AReaderSeesOnlyWholeValues) {
    const Peer first{0x1111111111111111u, 0x2222222222222222u, Peer::kPresent | Peer::kIpv6 | 1000};
    const Peer second{0x3333333333333333u, 0x4444444444444444u, Peer::kPresent | 2000};
    SharedPeer shared;
    shared.store(first);
    CachedPeer cached;
    shared.refresh(cached);  // no store under way: taken at once
    ASSERT_EQ(cached.value, first);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < 2'000'000; ++i) {
            shared.store(i % 2 ? first : second);
            if (i % 1024 == 0) std::this_thread::yield();  // a gap now and then, as real stores have
        }
        done.store(true);
    });
    // A refresh that meets a store under way keeps the copy it had (the
    // packet thread never spins): on a busy 2-core host it may never see a
    // gap, so only wholeness is asserted while the writer runs.
    std::uint64_t torn = 0;
    while (!done.load()) {
        shared.refresh(cached);
        if (!(cached.value == first) && !(cached.value == second)) ++torn;
        const Peer loaded = shared.load();
        if (!(loaded == first) && !(loaded == second)) ++torn;
    }
    writer.join();
    EXPECT_EQ(torn, 0u);
    shared.refresh(cached);
    EXPECT_EQ(cached.value, first);  // the last store: i = 1'999'999, odd
}

TEST(SharedPeerTest, TheReaderKeepsItsCopyWhileNothingChanged) {
    SharedPeer shared;
    CachedPeer cached;
    shared.refresh(cached);
    EXPECT_FALSE(cached.value.present());
    const Peer p = to_peer(Endpoint{loopback6(), 4000});
    shared.store(p);
    shared.refresh(cached);
    EXPECT_EQ(cached.value, p);
    EXPECT_EQ(to_endpoint(cached.value), (Endpoint{loopback6(), 4000}));
    EXPECT_EQ(to_endpoint(to_peer(Endpoint{loopback(9), 5})), (Endpoint{loopback(9), 5}));
    EXPECT_FALSE(to_peer(Endpoint{net::Address::any(Family::v6), 5}).present());
}

// A reload that adds an IPv6 media address: the legs allocated from then on
// may be IPv6, those already up keep their IPv4 sockets.
TEST(FamilyOptionsTest, AReloadedIpv6AddressServesTheNextLegs) {
    RelayOptions options = random_range(4);
    options.bind_address_ipv6.clear();
    auto relay = Relay::create(options);
    relay->start();
    const auto before = relay->allocate();
    ASSERT_TRUE(before);
    EXPECT_FALSE(relay->address(Family::v6));
    std::string error;
    ASSERT_TRUE(relay->set_addresses(options.bind_address, "::1", error)) << error;
    EXPECT_EQ(relay->address(Family::v6), net::Address::parse("::1"));
    EXPECT_EQ(relay->address(Family::v4), net::Address::parse(options.bind_address));
    EXPECT_TRUE(relay->allocate(Family::v4, Family::v6));
    EXPECT_NE(relay->local_rtp_port(*before, Leg::a), 0);
    relay->release(*before);

    // Neither an address of the wrong family nor one this host does not have.
    EXPECT_FALSE(relay->set_addresses("::1", "::1", error));
    EXPECT_FALSE(relay->set_addresses(options.bind_address, "2001:db8::7", error));
    EXPECT_NE(error.find("2001:db8::7"), std::string::npos) << error;
    EXPECT_EQ(relay->address(Family::v6), net::Address::parse("::1")) << "a refused change keeps the old addresses";
    ASSERT_TRUE(relay->set_addresses(options.bind_address, "", error));
    EXPECT_FALSE(relay->allocate(Family::v4, Family::v6));
}

}  // namespace
}  // namespace voxfork::media::test
