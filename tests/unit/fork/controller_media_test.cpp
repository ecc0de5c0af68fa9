// The controller against fakes: the rows driven by the call and the
// connection (hold, codec changes, BYE, connection loss, server STOP), DTMF,
// and the operator's output.
#include <gtest/gtest.h>

#include "controller_fixture.hpp"

namespace voxfork::fork {
namespace {

using nlohmann::json;
using namespace testing;

// ---- hold and codec ----

TEST_F(ControllerTest, HoldPausesAndUnholdResumesWithTheCodecInForce) {
    start_active();
    media(g711("g711ulaw", true));
    auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "pause"}, {"reason", "hold"}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "hold"}});
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");
    EXPECT_EQ(env_.trace.back(), "callid 58 : Forking paused (hold)");
    media(g711("g711ulaw", true));  // still held: nothing new
    EXPECT_TRUE(streams_.commands.empty());

    media(g711());
    msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "resume"}, {"codec", "ulaw"}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "RESUMED"}, {"codec", "g711ulaw"}});
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
    EXPECT_EQ(env_.trace.back(), "callid 58 : Forking resumed");
}

TEST_F(ControllerTest, ChangesNoRequestCausedGoToTheStartsLeg) {
    request(start_json(), leg_b);
    streams_.succeed();
    calls_.take();
    request(update_json(), leg_a);
    calls_.take();
    media(g711("g711ulaw", true));
    expect_only_status({{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "hold"}}, leg_b);
}

TEST_F(ControllerTest, PinnedCodecThatDiffersStartsPaused) {
    request(start_json("G1", R"(,"codec":"g711alaw")"));
    streams_.succeed();
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0]["command"], "start");
    EXPECT_EQ(msgs[0]["codec"], "alaw");
    EXPECT_EQ(msgs[1], (json{{"command", "pause"}, {"reason", "codec-change"}}));
    const auto s = statuses_on(leg_a);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0]["status"], "STARTED");
    EXPECT_EQ(s[1], (json{{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "codec-change"}}));
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");

    media(g711("g711alaw"));
    const auto resumed = streams_.take();
    ASSERT_EQ(resumed.size(), 1u);
    EXPECT_EQ(resumed[0], (json{{"command", "resume"}, {"codec", "alaw"}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "RESUMED"}, {"codec", "g711alaw"}});
}

TEST_F(ControllerTest, PinnedCodecThatMatchesStartsActiveAndPausesWhenTheCallMoves) {
    start_active(R"(,"codec":"g711ulaw")");
    media(g711("g711alaw"));
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "pause"}, {"reason", "codec-change"}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "codec-change"}});
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");
}

TEST_F(ControllerTest, StartWhileHeldStartsPausedForHold) {
    media(g711("g711ulaw", true));
    request(start_json());
    streams_.succeed();
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0]["command"], "start");
    EXPECT_EQ(msgs[1], (json{{"command", "pause"}, {"reason", "hold"}}));
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");
}

TEST_F(ControllerTest, UnpinnedFollowsALawChangeWithPauseThenResume) {
    start_active();
    media(g711("g711alaw"));
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0], (json{{"command", "pause"}, {"reason", "codec-change"}}));
    EXPECT_EQ(msgs[1], (json{{"command", "resume"}, {"codec", "alaw"}}));
    const auto s = statuses_on(leg_a);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0], (json{{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "codec-change"}}));
    EXPECT_EQ(s[1], (json{{"call-guid", "G1"}, {"status", "RESUMED"}, {"codec", "g711alaw"}}));
    EXPECT_EQ(ctl_->fork_state(anchor), "active");

    // PCMA is the fork's audio now.
    std::array<std::uint8_t, 160> payload{};
    media::RtpPacket p;
    p.payload = payload;
    p.payload_type = 0;
    tap(media::Direction::caller)->on_rtp(media::Direction::caller, p);
    EXPECT_TRUE(streams_.sink->frames.empty());
    p.payload_type = 8;
    tap(media::Direction::caller)->on_rtp(media::Direction::caller, p);
    EXPECT_EQ(streams_.sink->frames.size(), 1u);
}

// PCMU on dynamic payload types (each direction its own): the tee forks those
// packets, not PT 0; a re-INVITE that renumbers moves it along.
TEST_F(ControllerTest, G711OnADynamicPayloadTypeIsForked) {
    MediaState m = g711();
    m.codec_pt[0] = 97;
    m.codec_pt[1] = 96;
    media(m);
    start_active();
    std::array<std::uint8_t, 160> payload{};
    media::RtpPacket p;
    p.payload = payload;
    const auto send = [&](media::Direction d, std::uint8_t pt) {
        p.payload_type = pt;
        tap(d)->on_rtp(d, p);
    };
    send(media::Direction::caller, 0);
    send(media::Direction::caller, 96);
    send(media::Direction::callee, 97);
    EXPECT_TRUE(streams_.sink->frames.empty());
    send(media::Direction::caller, 97);
    send(media::Direction::callee, 96);
    ASSERT_EQ(streams_.sink->frames.size(), 2u);
    EXPECT_EQ(streams_.sink->frames[0].direction, media::Direction::caller);
    EXPECT_EQ(streams_.sink->frames[1].direction, media::Direction::callee);

    m.codec_pt[0] = 98;
    media(m);
    send(media::Direction::caller, 97);
    EXPECT_EQ(streams_.sink->frames.size(), 2u);
    send(media::Direction::caller, 98);
    EXPECT_EQ(streams_.sink->frames.size(), 3u);
}

TEST_F(ControllerTest, UnpinnedMoveToNonG711PausesUntilG711Again) {
    start_active();
    media(g711("g729"));
    auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "pause"}, {"reason", "codec-change"}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "codec-change"}});
    media(g711("g711alaw"));
    msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "resume"}, {"codec", "alaw"}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "RESUMED"}, {"codec", "g711alaw"}});
}

TEST_F(ControllerTest, LawChangeDuringHoldIsToldByTheResume) {
    start_active();
    media(g711("g711ulaw", true));
    calls_.take();
    streams_.take();
    media(g711("g711alaw", true));
    EXPECT_TRUE(streams_.commands.empty());
    EXPECT_TRUE(calls_.sent.empty());
    media(g711("g711alaw"));
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "resume"}, {"codec", "alaw"}}));
}

TEST_F(ControllerTest, NoFramesWhilePaused) {
    start_active();
    std::array<std::uint8_t, 160> payload{};
    media::RtpPacket p;
    p.payload = payload;
    auto* t = tap(media::Direction::callee);
    t->on_rtp(media::Direction::callee, p);
    media(g711("g711ulaw", true));
    t->on_rtp(media::Direction::callee, p);
    media(g711());
    t->on_rtp(media::Direction::callee, p);
    ASSERT_EQ(streams_.sink->frames.size(), 2u);
    EXPECT_EQ(streams_.sink->frames[1].direction, media::Direction::callee);
    EXPECT_EQ(streams_.sink->frames[1].seq, 1u);
}

// ---- the call ends, the connection or the server stops ----

TEST_F(ControllerTest, ByeStopsTheServerSideOnly) {
    start_active();
    ctl_->on_call_ended(anchor);
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "stop"}, {"reason", "Call ended"}}));
    EXPECT_TRUE(calls_.sent.empty());
    EXPECT_EQ(tap(media::Direction::caller), nullptr);
    EXPECT_EQ(streams_.closed.size(), 1u);
    EXPECT_EQ(streams_.ended, 1);
    EXPECT_EQ(ctl_->fork_state(anchor), "none");
    EXPECT_EQ(env_.trace.back(), "callid 58 : Forking stopped (Call ended)");
    EXPECT_EQ(env_.log.back(), "Enhanced Trunk call count: 0, Aggregate Trunk call count: 0 after call disconnected");
}

TEST_F(ControllerTest, ByeWhileConnectingAbandonsQuietly) {
    request(start_json());
    ctl_->on_call_ended(anchor);
    EXPECT_EQ(streams_.closed.size(), 1u);
    EXPECT_TRUE(streams_.commands.empty());
    EXPECT_TRUE(calls_.sent.empty());
    EXPECT_EQ(env_.log.back(), "Standard Trunk call count: 0, Aggregate Trunk call count: 0 after call disconnected");
}

TEST_F(ControllerTest, ConnectionLossIsReportedWithItsReason) {
    start_active();
    streams_.end("TCP Connection closed");
    EXPECT_TRUE(streams_.commands.empty());
    expect_only_status({{"call-guid", "G1"}, {"status", "STOPPED"}, {"reason", "TCP Connection closed"}});
    EXPECT_EQ(ctl_->fork_state(anchor), "stopped");
    EXPECT_EQ(tap(media::Direction::callee), nullptr);
    ctl_->on_ended(100, {"Connection closed", false, {}});  // stale: ignored
    EXPECT_TRUE(calls_.sent.empty());
}

TEST_F(ControllerTest, ConnectionClosedWhilePaused) {
    start_active();
    media(g711("g711ulaw", true));
    calls_.take();
    streams_.end("Connection closed");
    expect_only_status({{"call-guid", "G1"}, {"status", "STOPPED"}, {"reason", "Connection closed"}});
}

TEST_F(ControllerTest, ServerEndingTheSessionStopsTheFork) {
    start_active();
    streams_.end("Connection closed", true);
    // The protocol answered the server; the fork sends nothing more.
    EXPECT_TRUE(streams_.take().empty());
    expect_only_status({{"call-guid", "G1"}, {"status", "STOPPED"}, {"reason", "Connection closed"}});
    EXPECT_EQ(streams_.closed.size(), 1u);
    EXPECT_EQ(ctl_->fork_state(anchor), "stopped");
}

TEST_F(ControllerTest, EventsForUnknownHandlesAreIgnored) {
    start_active();
    ctl_->on_ended(999, {"Connection closed", true, "bye"});
    ctl_->on_ended(999, {"Connection closed", false, {}});
    ctl_->on_established(999, {});
    ctl_->on_failed(999, "Connection failed");
    EXPECT_TRUE(calls_.sent.empty());
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
}

TEST_F(ControllerTest, DestroyingTheControllerTakesItsTapsAway) {
    start_active();
    ASSERT_NE(tap(media::Direction::caller), nullptr);
    request(start_json("G2"), leg_a);  // rejected: the fork stays
    ctl_.reset();
    EXPECT_EQ(tap(media::Direction::caller), nullptr);
    EXPECT_EQ(tap(media::Direction::callee), nullptr);
    EXPECT_EQ(streams_.closed, (std::vector<stream::SessionHandle>{100}));
}

TEST_F(ControllerTest, DestroyingTheControllerWhileConnectingDetaches) {
    request(start_json());
    ctl_.reset();
    EXPECT_EQ(streams_.closed, (std::vector<stream::SessionHandle>{100}));
    EXPECT_EQ(taps_.changes, 0);
}

TEST_F(ControllerTest, UpdateWhilePausedStillReachesTheServer) {
    start_active();
    media(g711("g711ulaw", true));
    calls_.take();
    streams_.take();
    request(update_json());
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0]["command"], "update");
    expect_only_status({{"call-guid", "G1"}, {"status", "UPDATED"}});
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");
}

// ---- the server's own pause and its confirmation of an update (AudioHook) ----

TEST_F(ControllerTest, TheServersPauseAndResumeAreReportedWithReasonServer) {
    start_active();
    ctl_->on_paused_by_server(100);
    expect_only_status({{"call-guid", "G1"}, {"status", "PAUSED"}, {"reason", "server"}});
    EXPECT_TRUE(streams_.take().empty());  // the protocol answered the server itself
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");
    // A re-INVITE with no reason to pause does not end the server's pause.
    media(g711());
    EXPECT_TRUE(calls_.sent.empty());
    ctl_->on_resumed_by_server(100);
    expect_only_status({{"call-guid", "G1"}, {"status", "RESUMED"}, {"codec", "g711ulaw"}});
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
}

TEST_F(ControllerTest, TheServersResumeDuringHoldLeavesTheForkPausedForTheHold) {
    start_active();
    ctl_->on_paused_by_server(100);
    media(g711("g711ulaw", true));
    // The session hears of the hold, so the server's resume keeps the audio off.
    EXPECT_EQ(streams_.take(), (std::vector<json>{json{{"command", "pause"}, {"reason", "hold"}}}));
    media(g711("g711ulaw", true));
    EXPECT_TRUE(streams_.take().empty());  // once
    calls_.take();
    ctl_->on_resumed_by_server(100);
    EXPECT_TRUE(calls_.sent.empty());
    EXPECT_EQ(ctl_->fork_state(anchor), "paused");
    media(g711());
    expect_only_status({{"call-guid", "G1"}, {"status", "RESUMED"}, {"codec", "g711ulaw"}});
    EXPECT_EQ(streams_.take(), (std::vector<json>{json{{"command", "resume"}, {"codec", "ulaw"}}}));
}

TEST_F(ControllerTest, AnUpdateTheServerConfirmsIsUpdatedOnlyThen) {
    start_active();
    streams_.updates_confirmed = true;
    request(update_json(), leg_b);
    EXPECT_EQ(streams_.take().size(), 1u);
    EXPECT_TRUE(calls_.sent.empty());
    ctl_->on_updated(100);
    expect_only_status({{"call-guid", "G1"}, {"status", "UPDATED"}}, leg_b);
    ctl_->on_updated(100);  // nothing awaits: nothing said
    EXPECT_TRUE(calls_.sent.empty());
}

// ---- DTMF, operator output, licensing ----

TEST_F(ControllerTest, DtmfReachesTheServerOnPoll) {
    start_active();
    key_end_packet(media::Direction::callee, 11, 800, 1234);  // '#'
    key_end_packet(media::Direction::callee, 11, 800, 1234);  // its repeat
    EXPECT_TRUE(streams_.commands.empty());                  // nothing from the packet thread itself
    ctl_->poll();
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "dtmf"}, {"direction", "callee"}, {"digit", "#"}, {"duration", 800}}));
}

TEST_F(ControllerTest, DtmfQueuedAfterAPollGoesOutOnTheNext) {
    start_active();
    ctl_->poll();  // nothing queued: nothing sent
    EXPECT_TRUE(streams_.take().empty());
    key_end_packet(media::Direction::caller, 5, 320, 4000);
    ctl_->poll();
    auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "dtmf"}, {"direction", "caller"}, {"digit", "5"}, {"duration", 320}}));
    ctl_->poll();  // the event was taken: not sent twice
    EXPECT_TRUE(streams_.take().empty());
    key_end_packet(media::Direction::caller, 5, 320, 5000);  // the next key press
    ctl_->poll();
    msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0]["digit"], "5");
}

TEST_F(ControllerTest, ShowCallDescribesTheFork) {
    EXPECT_FALSE(ctl_->show_call(anchor));
    start_active();
    std::array<std::uint8_t, 160> payload{};
    media::RtpPacket p;
    p.payload = payload;
    tap(media::Direction::caller)->on_rtp(media::Direction::caller, p);
    const auto text = ctl_->show_call(anchor);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text,
              "Call id: 58\n"
              "Call-guid: G1\n"
              "State: active\n"
              "Codec: g711ulaw\n"
              "Connection id: 60\n"
              "Channel 17 (caller)\n"
              " Frames sent: 1\n"
              " Bytes sent: 172\n"
              " Frames dropped: 0\n"
              "Channel 18 (callee)\n"
              " Frames sent: 0\n"
              " Bytes sent: 0\n"
              " Frames dropped: 0\n"
              "Metadata: {\"agent\":\"1001\"}\n");
    const auto j = ctl_->show_call_json(anchor);
    EXPECT_EQ(j["state"], "active");
    EXPECT_EQ(j["channels"]["caller"]["frames_sent"], 1);
    EXPECT_EQ(ctl_->totals(media::Direction::caller).packets_forked, 1u);
    EXPECT_EQ(ctl_->totals(media::Direction::caller).bytes_forked, 172u);
    EXPECT_EQ(ctl_->totals(media::Direction::callee).packets_forked, 0u);
    EXPECT_NE(ctl_->show_sessions().find("1        58      active      caller     1           172           0\n"),
              std::string::npos)
        << ctl_->show_sessions();
    request(stop_json());
    EXPECT_NE(ctl_->show_call(anchor)->find("State: stopped\n"), std::string::npos);
}

// docs/forking.md "Operator output": callid shows frames and bytes sent and frames dropped: what
// the connection wrote, and drops of its send queue as well as of the ring.
TEST_F(ControllerTest, ShowCallNamesTheProtocolItsConnectionsAndWhatTheServerSaid) {
    streams_.description = stream::Description{"raw", {61, 62}, 2, R"({"transcript":"hello"})"};
    start_active();
    const auto text = *ctl_->show_call(anchor);
    EXPECT_NE(text.find("Protocol: raw\nConnections: 61 62\nMessages from the server: 2\n"
                        "Latest from the server: {\"transcript\":\"hello\"}\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(ctl_->show_call_json(anchor)["connections"], (json{61, 62}));
    // Kept once the fork let go of its session.
    request(stop_json());
    streams_.description.reset();
    EXPECT_NE(ctl_->show_call(anchor)->find("Protocol: raw\n"), std::string::npos);
}

TEST_F(ControllerTest, ShowCallCountsWhatTheTransportDelivered) {
    start_active();
    streams_.sink->refuse = true;  // the ring is full: one drop at the tee
    std::array<std::uint8_t, 160> payload{};
    media::RtpPacket p;
    p.payload = payload;
    tap(media::Direction::caller)->on_rtp(media::Direction::caller, p);
    streams_.sink->refuse = false;
    for (int i = 0; i < 4; ++i) tap(media::Direction::caller)->on_rtp(media::Direction::caller, p);
    // Of the 4 handed over, the send queue dropped 3 under back-pressure.
    streams_.delivery[media::Direction::caller] = {1, 172, 3};
    auto text = *ctl_->show_call(anchor);
    EXPECT_NE(text.find("Channel 17 (caller)\n Frames sent: 1\n Bytes sent: 172\n Frames dropped: 4\n"),
              std::string::npos)
        << text;
    // The session row is the dataplane's, as the global counters: 4 forked,
    // 1 dropped at the tee.
    EXPECT_NE(ctl_->show_sessions().find("1        58      active      caller     4           688           1\n"),
              std::string::npos)
        << ctl_->show_sessions();
    EXPECT_EQ(ctl_->totals(media::Direction::caller).packets_forked, 4u);
    EXPECT_EQ(ctl_->totals(media::Direction::caller).frames_dropped, 1u);
    // The counts outlive the transport's: kept when the fork leaves it.
    request(stop_json());
    streams_.delivery.clear();
    text = *ctl_->show_call(anchor);
    EXPECT_NE(text.find("Channel 17 (caller)\n Frames sent: 1\n Bytes sent: 172\n Frames dropped: 4\n"),
              std::string::npos)
        << text;
}

TEST_F(ControllerTest, LicenseReportOnPoll) {
    start_active();
    env_.utc += std::chrono::seconds(3600);
    ctl_->poll();
    EXPECT_EQ(ctl_->license_table(),
              "Index  Report time (UTC)    Interval(s)  Standard  Enhanced  Aggregate\n"
              "1      2026-11-24 23:00:00  3600         0         1         1\n");
}

}  // namespace
}  // namespace voxfork::fork
