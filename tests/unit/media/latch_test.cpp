// Latching (docs/media.md): a leg's remote taken from where its packets come
// from, real UDP sockets on loopback addresses standing for other hosts.
#include "relay_fixture.hpp"

namespace voxfork::media::test {
namespace {

using namespace std::chrono_literals;

const Bytes kReceiverReport{0x81, 201, 0,  7,  0x11, 0x22, 0x33, 0x44, 1,  2,  3,  4,  5,  6,  7,  8,
                            9,    10,  11, 12, 13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24};

class LatchTest : public RelayTest {
protected:
    static constexpr unsigned kMoveAfter = 4;
    void SetUp() override {
        RelayOptions options = random_range(16);
        options.latch_move_packets = kMoveAfter;
        make_relay(options);
    }

    // A call whose caller announces `announced` (an address it does not send from).
    Call call_announcing(Endpoint announced, const UdpPeer& callee) {
        Call call;
        call.id = relay->allocate().value();
        call.port_a = relay->local_rtp_port(call.id, Leg::a);
        call.port_b = relay->local_rtp_port(call.id, Leg::b);
        relay->set_remote(call.id, Leg::a, announced, {});
        relay->set_remote(call.id, Leg::b, callee.endpoint(), {});
        return call;
    }

    // Sends `packet` from `from` and expects it at `to`, from the relay's `port`.
    void expect_relayed(const UdpPeer& from, std::uint16_t to_port, const UdpPeer& to, const Bytes& packet) {
        from.send_to(to_port, packet);
        auto d = to.receive();
        ASSERT_TRUE(d.has_value()) << "not relayed";
        EXPECT_EQ(d->data, packet);
    }

    std::vector<LatchChange> changes() {
        std::vector<LatchChange> all;
        for (int i = 0; i < 20 && all.empty(); ++i, std::this_thread::sleep_for(5ms)) all = relay->take_latch_changes();
        return all;
    }
};

// The case: SDP says 127.0.0.2, RTP comes from 127.0.0.1.
TEST_F(LatchTest, FirstPacketTeachesWhereTheRemoteReallyIs) {
    UdpPeer caller, callee;
    const Call call = call_announcing(Endpoint{loopback(2), 6000}, callee);
    expect_relayed(caller, call.port_a, callee, numbered(1));
    // The answer goes to where the caller sends from, not to the SDP's address.
    expect_relayed(callee, call.port_b, caller, numbered(2));
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), caller.endpoint());
    EXPECT_EQ(value(caller_counters().latches), 1u);
    EXPECT_EQ(value(callee_counters().latches), 1u);

    const auto reported = changes();
    ASSERT_EQ(reported.size(), 2u);
    for (const LatchChange& c : reported) {
        EXPECT_EQ(c.session, call.id);
        EXPECT_FALSE(c.rtcp);
        EXPECT_FALSE(c.moved);
        EXPECT_EQ(c.source, c.leg == Leg::a ? caller.endpoint() : callee.endpoint());
    }
    EXPECT_TRUE(relay->take_latch_changes().empty());  // each change is reported once
}

// Same address, other port: the packets back still go to the SDP's port
// (endpoints that send and receive on different ports keep working).
TEST_F(LatchTest, LatchOnTheSignalledAddressKeepsTheSignalledPort) {
    UdpPeer caller_receives, caller_sends, callee;
    const Call call = connect(caller_receives, callee);
    expect_relayed(caller_sends, call.port_a, callee, numbered(1));
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), caller_sends.endpoint());
    expect_relayed(callee, call.port_b, caller_receives, numbered(2));
    EXPECT_TRUE(caller_sends.silent(50ms));
}

TEST_F(LatchTest, ThirdAddressWhileLatchedIsDroppedAndCounted) {
    UdpPeer caller, callee;
    UdpPeer stranger(loopback(3));
    const Call call = connect(caller, callee);
    expect_relayed(caller, call.port_a, callee, numbered(1));
    // However many it sends, a stranger between the real source's packets never takes over.
    for (std::uint16_t round = 1; round <= 3; ++round) {
        for (unsigned i = 1; i < kMoveAfter; ++i) stranger.send_to(call.port_a, numbered(100));
        // Counted before the real source speaks again: the two may reach different sockets.
        ASSERT_TRUE(
            eventually([&] { return value(caller_counters().dropped_unexpected_source) == round * (kMoveAfter - 1); }));
        expect_relayed(caller, call.port_a, callee, numbered(round));
    }
    EXPECT_TRUE(callee.silent(50ms));
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), caller.endpoint());
    EXPECT_EQ(value(caller_counters().latch_moves), 0u);
}

TEST_F(LatchTest, NewSourceTakesOverAfterEnoughPacketsInARow) {
    UdpPeer caller, callee;
    UdpPeer moved(loopback(4));  // the caller's NAT binding changed, say
    const Call call = connect(caller, callee);
    expect_relayed(caller, call.port_a, callee, numbered(1));
    relay->take_latch_changes();
    for (unsigned i = 1; i < kMoveAfter; ++i) moved.send_to(call.port_a, numbered(50));
    EXPECT_TRUE(callee.silent(50ms));
    expect_relayed(moved, call.port_a, callee, numbered(51));  // the Nth in a row moves the latch
    expect_relayed(callee, call.port_b, moved, numbered(52));  // and the stream back follows it
    EXPECT_EQ(value(caller_counters().latch_moves), 1u);
    EXPECT_EQ(value(caller_counters().dropped_unexpected_source), kMoveAfter - 1);
    const auto reported = changes();
    ASSERT_EQ(reported.size(), 2u);  // leg a moved; leg b latched its first packet
    const LatchChange& leg_a = reported[0].leg == Leg::a ? reported[0] : reported[1];
    EXPECT_TRUE(leg_a.moved);
    EXPECT_EQ(leg_a.source, moved.endpoint());
}

TEST_F(LatchTest, EachOfferAnswerLearnsAgain) {
    UdpPeer caller, callee;
    UdpPeer elsewhere(loopback(5));
    const Call call = connect(caller, callee);
    expect_relayed(caller, call.port_a, callee, numbered(1));
    relay->set_remote(call.id, Leg::a, elsewhere.endpoint(), {});  // a re-INVITE
    expect_relayed(elsewhere, call.port_a, callee, numbered(2));   // its first packet latches at once
    EXPECT_EQ(value(caller_counters().latches), 2u);
    EXPECT_EQ(value(caller_counters().latch_moves), 0u);
}

// Before an answer names the callee's media, nothing it sends is taken.
TEST_F(LatchTest, NothingLatchesBeforeTheRemoteIsSignalled) {
    UdpPeer caller, callee;
    const auto id = relay->allocate();
    ASSERT_TRUE(id);
    relay->set_remote(*id, Leg::a, caller.endpoint(), {});
    callee.send_to(relay->local_rtp_port(*id, Leg::b), numbered(1));
    EXPECT_TRUE(caller.silent());
    EXPECT_EQ(relay->latched(*id, Leg::b, false), Endpoint{});
    EXPECT_EQ(value(callee_counters().latches), 0u);
}

TEST_F(LatchTest, StrictTakesOnlyTheSignalledAddress) {
    UdpPeer caller, callee;
    UdpPeer stranger(loopback(6));
    const Call call = connect_strict(caller, callee);
    for (unsigned i = 0; i < 2 * kMoveAfter; ++i) stranger.send_to(call.port_a, numbered(1));
    EXPECT_TRUE(callee.silent(50ms));
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_unexpected_source) == 2 * kMoveAfter; }));
    EXPECT_EQ(value(caller_counters().latches), 0u);
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), Endpoint{});
    expect_relayed(caller, call.port_a, callee, numbered(2));
}

// An RTCP port latches on RTCP only: RTP or garbage sent there first is a stranger's.
TEST_F(LatchTest, RtcpPortLatchesOnRtcpOnly) {
    UdpPeer caller, callee, caller_rtcp, callee_rtcp;
    UdpPeer stranger(loopback(7));
    const Call call = connect(caller, callee, &caller_rtcp, &callee_rtcp);
    const auto rtcp_a = static_cast<std::uint16_t>(call.port_a + 1);
    stranger.send_to(rtcp_a, numbered(1));          // version 2, long enough, but an RTP type
    stranger.send_to(rtcp_a, Bytes{0x80, 201, 0});  // too short
    EXPECT_TRUE(callee_rtcp.silent(50ms));
    EXPECT_EQ(relay->latched(call.id, Leg::a, true), Endpoint{});
    expect_relayed(caller_rtcp, rtcp_a, callee_rtcp, kReceiverReport);
    EXPECT_EQ(relay->latched(call.id, Leg::a, true), caller_rtcp.endpoint());
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), Endpoint{});  // the RTP port is its own
}

TEST_F(LatchTest, MalformedPacketsNeverLatch) {
    UdpPeer caller, callee;
    UdpPeer stranger(loopback(8));
    const Call call = connect(caller, callee);
    stranger.send_to(call.port_a, Bytes{0x40, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1});  // RTP version 1
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_malformed) == 1; }));
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), Endpoint{});
    expect_relayed(caller, call.port_a, callee, numbered(1));
    EXPECT_EQ(relay->latched(call.id, Leg::a, false), caller.endpoint());
}

}  // namespace
}  // namespace voxfork::media::test
