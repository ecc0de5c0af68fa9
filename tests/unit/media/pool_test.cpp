// The port pool through the Relay: ports in use, exhaustion, return of ports
// at release and at stop.
#include <deque>

#include "relay_fixture.hpp"

namespace voxfork::media::test {
namespace {

// Every port of the range can be bound again: the relay holds none of them.
void expect_range_free(const RelayOptions& o) {
    for (unsigned port = o.port_min; port <= o.port_max; ++port)
        EXPECT_NO_THROW(UdpPeer(loopback(), static_cast<std::uint16_t>(port))) << "port " << port << " still held";
}

TEST(RelayPool, PortsHeldByOthersAreSkippedAndCounted) {
    const RelayOptions o = random_range(8);
    UdpPeer holds_rtp(loopback(), o.port_min);                                   // pair 0's RTP
    UdpPeer holds_rtcp(loopback(), static_cast<std::uint16_t>(o.port_min + 3));  // pair 1's RTCP
    auto relay = Relay::create(o);
    relay->start();
    const auto id = relay->allocate();
    ASSERT_TRUE(id);
    EXPECT_EQ(relay->local_rtp_port(*id, Leg::a), o.port_min + 4);
    EXPECT_EQ(relay->local_rtp_port(*id, Leg::b), o.port_min + 6);
    EXPECT_EQ(relay->counters().ports_skipped_in_use.load(), 2u);
    EXPECT_EQ(relay->ports_free(), 6u);  // the skipped pairs stay in the pool
    relay->release(*id);
    EXPECT_EQ(relay->ports_free(), relay->ports_total());
}

// The relay binds a second socket on each RTP port with SO_REUSEPORT; that
// must not let it join a program that holds the port with SO_REUSEPORT too.
TEST(RelayPool, PortsHeldWithReusePortAreSkippedNotShared) {
    const RelayOptions o = random_range(8);
    UdpPeer holder(loopback(), o.port_min, UdpPeer::Sharing::reuse_port);  // pair 0's RTP
    auto relay = Relay::create(o);
    relay->start();
    const auto id = relay->allocate();
    ASSERT_TRUE(id);
    EXPECT_EQ(relay->local_rtp_port(*id, Leg::a), o.port_min + 2);
    EXPECT_EQ(relay->counters().ports_skipped_in_use.load(), 1u);
    // And once the relay holds a port, no one can bind it, with or without the option.
    const auto taken = relay->local_rtp_port(*id, Leg::b);
    EXPECT_THROW(UdpPeer(loopback(), taken), std::runtime_error);
    EXPECT_THROW(UdpPeer(loopback(), taken, UdpPeer::Sharing::reuse_port), std::runtime_error);
    relay->release(*id);
}

TEST(RelayPool, PoolIsWholeAfterAThousandCalls) {
    const RelayOptions o = random_range(64);
    auto relay = Relay::create(o);
    relay->start();
    EXPECT_EQ(relay->ports_total(), 64u);
    std::deque<SessionId> live;
    for (int i = 0; i < 1000; ++i) {
        const auto id = relay->allocate();
        ASSERT_TRUE(id) << "allocation " << i;
        live.push_back(*id);
        if (live.size() > 8) {  // a few calls overlap, as in real traffic
            relay->release(live.front());
            live.pop_front();
        }
    }
    EXPECT_EQ(relay->ports_free(), 64u - 2 * live.size());
    for (SessionId id : live) relay->release(id);
    EXPECT_EQ(relay->ports_free(), relay->ports_total());
    EXPECT_EQ(relay->counters().allocation_failures.load(), 0u);
    expect_range_free(o);
}

TEST(RelayPool, ExhaustionReturnsNothingUntilACallEnds) {
    const RelayOptions o = random_range(4);  // two calls' worth
    auto relay = Relay::create(o);
    relay->start();
    const auto one = relay->allocate();
    const auto two = relay->allocate();
    ASSERT_TRUE(one && two);
    EXPECT_EQ(relay->ports_free(), 0u);
    EXPECT_FALSE(relay->allocate().has_value());
    EXPECT_EQ(relay->counters().allocation_failures.load(), 1u);
    relay->release(*one);
    EXPECT_TRUE(relay->allocate().has_value());
}

TEST(RelayPool, OddPairCountLeavesOnePairUnused) {
    auto relay = Relay::create(random_range(3));
    ASSERT_TRUE(relay->allocate().has_value());
    EXPECT_FALSE(relay->allocate().has_value());  // one pair left, a call needs two
    EXPECT_EQ(relay->ports_free(), 1u);
}

TEST(RelayPool, StopReleasesLiveCalls) {
    const RelayOptions o = random_range(32);
    auto relay = Relay::create(o);
    relay->start();
    UdpPeer caller, callee;
    std::vector<SessionId> ids;
    for (int i = 0; i < 10; ++i) {
        const auto id = relay->allocate();
        ASSERT_TRUE(id);
        relay->set_remote(*id, Leg::a, caller.endpoint(), {});
        relay->set_remote(*id, Leg::b, callee.endpoint(), {});
        ids.push_back(*id);
    }
    const std::uint16_t port_a = relay->local_rtp_port(ids[0], Leg::a);
    caller.send_to(port_a, rtp_packet({}, payload_of(1)));
    ASSERT_TRUE(callee.receive().has_value());

    relay->stop();
    EXPECT_EQ(relay->ports_free(), relay->ports_total());
    expect_range_free(o);
    for (SessionId id : ids) {  // stale ids are harmless
        EXPECT_EQ(relay->local_rtp_port(id, Leg::a), 0);
        relay->set_remote(id, Leg::a, caller.endpoint(), {});
        relay->release(id);
    }
    relay->stop();  // twice is fine
}

TEST(RelayPool, DestroyingARunningRelayWithCallsIsClean) {
    const RelayOptions o = random_range(16);
    {
        auto relay = Relay::create(o);
        relay->start();
        for (int i = 0; i < 4; ++i) ASSERT_TRUE(relay->allocate().has_value());
    }
    expect_range_free(o);
}

}  // namespace
}  // namespace voxfork::media::test
