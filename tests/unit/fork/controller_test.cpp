// The controller against fakes, row by row of the state table: requests and
// their answers (what reaches the speech server, what the controller is told,
// on which leg). controller_media_test.cpp has the rows the call drives.
#include <gtest/gtest.h>

#include "controller_fixture.hpp"

namespace voxfork::fork {
namespace {

using nlohmann::json;
using namespace testing;

// ---- idle × start, connecting × attach_ok ----

TEST_F(ControllerTest, StartAttachesThenStartsBothChannelsCallerFirst) {
    request(start_json());
    ASSERT_EQ(streams_.opens.size(), 1u);
    const auto& a = streams_.opens[0];
    EXPECT_EQ(a.target, (stream::Target{"asr.lab.example", 8443, true, "/v1/fork", "tok", 99}));
    EXPECT_EQ(a.call.anchor, anchor);
    EXPECT_EQ(a.call.call_guid, "G1");
    EXPECT_EQ(a.call.sip_call_id, "a84b4c76e66710@10.0.0.1");
    EXPECT_EQ((std::vector<std::string>{a.call.caller_number, a.call.caller_name, a.call.called_number}),
              (std::vector<std::string>{"1000", "Alice", "6777"}));
    EXPECT_TRUE(calls_.sent.empty());  // nothing until the connection is there
    EXPECT_EQ(ctl_->fork_state(anchor), "connecting");

    streams_.succeed();
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "start"}, {"codec", "ulaw"}, {"metadata", {{"agent", "1001"}}}}));
    ASSERT_EQ(calls_.raw.size(), 1u);
    EXPECT_EQ(calls_.raw[0],
              R"({"call-guid":"G1","status":"STARTED","connection-id":60,"channels":{"caller":17,"callee":18}})");
    EXPECT_EQ(calls_.sent[0].leg, leg_a);
    EXPECT_NE(tap(media::Direction::caller), nullptr);
    EXPECT_EQ(tap(media::Direction::caller), tap(media::Direction::callee));
    EXPECT_EQ(streams_.started, 1);
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
    EXPECT_EQ(env_.trace,
              (std::vector<std::string>{"callid 58 : Forking request START", "callid 58 : Forking initiated"}));
    // Each line names the SIP Call-ID of the request's leg and the call-guid.
    EXPECT_EQ(env_.trace_fields, (std::vector<std::string>{" : call-id a84b4c76e66710@10.0.0.1 : call-guid G1",
                                                           " : call-id a84b4c76e66710@10.0.0.1 : call-guid G1"}));
    EXPECT_EQ(env_.log.back(),
              "Standard Trunk call count: 0, Enhanced Trunk call count: 1, Aggregate Trunk call count: 1 after "
              "WS_Fork_START");
}

TEST_F(ControllerTest, TraceLinesCarryTheCallIdAndTheForksGuidEvenForAForeignRequest) {
    request(start_json());
    streams_.succeed();
    request(R"({"action":"STOP","call-guid":"OTHER"})", leg_b);  // GUID Mismatch: the request's guid
    request(stop_json());
    ASSERT_EQ(env_.trace_fields.size(), env_.trace.size());
    EXPECT_EQ(env_.trace_fields[3], " : call-id b-leg@10.0.0.2 : call-guid OTHER") << env_.trace[3];
    EXPECT_EQ(env_.trace.back(), "callid 58 : Forking stopped (Forking stopped)");
    EXPECT_EQ(env_.trace_fields.back(), " : call-id a84b4c76e66710@10.0.0.1 : call-guid G1");
}

TEST_F(ControllerTest, StartUsesTheProfileOfTheRequestsLegElseTheOthers) {
    calls_.calls[anchor].profile_tag[0] = 7;
    request(start_json(), leg_b);
    request(stop_json(), leg_b);
    request(start_json(), leg_a);
    ASSERT_EQ(streams_.opens.size(), 2u);
    EXPECT_EQ(streams_.opens[0].target.profile_tag, 99u);
    EXPECT_EQ(streams_.opens[1].target.profile_tag, 7u);
}

TEST_F(ControllerTest, StartDefaultsSecureAndPath) {
    request(R"({"action":"START","call-guid":"G","host":"10.1.40.50","port":8051})");
    EXPECT_EQ(streams_.opens.at(0).target, (stream::Target{"10.1.40.50", 8051, true, "/", "", 99}));
}

// ---- connecting × attach_failed ----

TEST_F(ControllerTest, AttachFailureIsAnErrorAndANewStartMayFollow) {
    request(start_json());
    streams_.fail("DNS lookup failed");
    expect_only_status(error("DNS lookup failed"));
    EXPECT_EQ(streams_.failed, 1);
    EXPECT_EQ(streams_.started, 0);
    EXPECT_TRUE(streams_.commands.empty());
    EXPECT_EQ(ctl_->fork_state(anchor), "none");
    EXPECT_EQ(env_.log.size(), 1u);  // still a standard call: only the connect line
    request(start_json("G2"));
    EXPECT_EQ(streams_.opens.size(), 2u);
}

TEST_F(ControllerTest, AttachWithoutChannelsIsAnInternalError) {
    request(start_json());
    stream::Established e;
    e.connection_id = 1;
    ctl_->on_established(streams_.opens.back().session, e);
    expect_only_status(error("Internal error"));
    EXPECT_EQ(streams_.closed.size(), 1u);
}

// ---- start while a fork exists; steps 6 and 7 ----

TEST_F(ControllerTest, StartWhileAForkExistsIsInvalidWhateverTheCall) {
    request(start_json());
    request(start_json("G2"));
    expect_only_status(error("Invalid Start Fork Request", "G2"));
    streams_.succeed();
    calls_.take();
    calls_.calls[anchor].media.codec[0] = calls_.calls[anchor].media.codec[1] = "g729";
    calls_.calls[anchor].profile_tag[1] = 0;
    request(start_json("G3"));
    expect_only_status(error("Invalid Start Fork Request", "G3"));
    EXPECT_EQ(streams_.opens.size(), 1u);
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
}

TEST_F(ControllerTest, UnsupportedFlowWhenNoLegIsForkEnabledOrSrtp) {
    calls_.calls[anchor].profile_tag[1] = 0;
    request(start_json());
    expect_only_status(error("Unsupported flow"));
    calls_.calls[anchor].profile_tag[1] = 99;
    calls_.calls[anchor].media.srtp = true;
    request(start_json());
    expect_only_status(error("Unsupported flow"));
    EXPECT_TRUE(streams_.opens.empty());
}

TEST_F(ControllerTest, UnsupportedFlowComesBeforeTheCodec) {
    calls_.calls[anchor].media.srtp = true;
    calls_.calls[anchor].media.codec[0] = calls_.calls[anchor].media.codec[1] = "g729";
    request(start_json());
    expect_only_status(error("Unsupported flow"));
}

TEST_F(ControllerTest, StartOnANonG711CallIsRejected) {
    calls_.calls[anchor].media.codec[0] = calls_.calls[anchor].media.codec[1] = "g729";
    request(start_json("G1", R"(,"codec":"g711ulaw")"));
    expect_only_status(error("Codec is not supported"));
    EXPECT_TRUE(streams_.opens.empty());
}

TEST_F(ControllerTest, StartOnAnUnknownCallIsAnInternalError) {
    calls_.calls.clear();
    request(start_json());
    expect_only_status(error("Internal error"));
}

// ---- stop ----

TEST_F(ControllerTest, StopWithoutAForkIsInvalid) {
    request(stop_json());
    expect_only_status(error("Invalid Stop Fork Request"));
}

TEST_F(ControllerTest, StopOfAnotherGuidIsAMismatchAndTheForkGoesOn) {
    start_active();
    request(stop_json("OTHER"));
    expect_only_status(error("GUID Mismatch", "OTHER"));
    EXPECT_TRUE(streams_.commands.empty());
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
}

TEST_F(ControllerTest, StopWhileActiveStopsTheSession) {
    start_active();
    request(stop_json(), leg_b);
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "stop"}, {"reason", "Forking stopped"}}));
    // Told on the leg the STOP came on.
    expect_only_status({{"call-guid", "G1"}, {"status", "STOPPED"}, {"reason", "Forking stopped"}}, leg_b);
    EXPECT_EQ(tap(media::Direction::caller), nullptr);
    EXPECT_EQ(tap(media::Direction::callee), nullptr);
    EXPECT_EQ(streams_.closed, (std::vector<stream::SessionHandle>{100}));
    EXPECT_EQ(streams_.ended, 1);
    EXPECT_EQ(ctl_->fork_state(anchor), "stopped");
    EXPECT_EQ(env_.trace.back(), "callid 58 : Forking stopped (Forking stopped)");
}

TEST_F(ControllerTest, StopWhileConnectingAbandons) {
    request(start_json());
    request(stop_json());
    expect_only_status({{"call-guid", "G1"}, {"status", "STOPPED"}, {"reason", "Forking stopped"}});
    EXPECT_EQ(streams_.closed, (std::vector<stream::SessionHandle>{100}));
    EXPECT_TRUE(streams_.commands.empty());
    streams_.succeed();  // a late answer changes nothing
    EXPECT_TRUE(streams_.commands.empty());
    EXPECT_TRUE(calls_.sent.empty());
    EXPECT_EQ(ctl_->fork_state(anchor), "none");  // nothing was ever forked
}

TEST_F(ControllerTest, ANewStartAfterStopBeginsAnotherFork) {
    start_active();
    request(stop_json());
    calls_.take();
    streams_.take();
    request(start_json("G2"));
    streams_.succeed(61, 19, 20);
    const auto s = statuses_on(leg_a);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0]["status"], "STARTED");
    EXPECT_EQ(s[0]["call-guid"], "G2");
    EXPECT_EQ(s[0]["channels"]["caller"], 19);
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
    EXPECT_EQ(streams_.started, 2);
}

// ---- update ----

TEST_F(ControllerTest, UpdateWithoutAForkIsInvalid) {
    request(update_json());
    expect_only_status(error("Invalid Update Fork Request"));
}

TEST_F(ControllerTest, UpdateSendsTheNewMetadata) {
    start_active();
    request(update_json("G1", R"(,"host":"asr.lab.example","port":8443)"));
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0], (json{{"command", "update"}, {"metadata", {{"agent", "1002"}}}}));
    expect_only_status({{"call-guid", "G1"}, {"status", "UPDATED"}});
}

TEST_F(ControllerTest, UpdateNamingAnotherServerIsUnexpectedContentBeforeGuid) {
    start_active();
    request(update_json("OTHER", R"(,"port":9000)"));
    expect_only_status(error("Unexpected format or content in JSON", "OTHER"));
    request(update_json("OTHER"));
    expect_only_status(error("GUID Mismatch", "OTHER"));
    EXPECT_TRUE(streams_.commands.empty());
}

// docs/controller.md: UPDATED is "the new metadata went to the speech server". While connecting
// nothing can be sent: the UPDATE waits for the START, and UPDATED for STARTED.
TEST_F(ControllerTest, UpdateWhileConnectingIsSentAfterTheStart) {
    request(start_json());
    request(update_json(), leg_b);
    EXPECT_TRUE(calls_.sent.empty());
    EXPECT_TRUE(streams_.commands.empty());
    streams_.succeed();
    const auto msgs = streams_.take();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0]["command"], "start");
    EXPECT_EQ(msgs[0]["metadata"], (json{{"agent", "1001"}}));  // the START's own
    EXPECT_EQ(msgs[1], (json{{"command", "update"}, {"metadata", {{"agent", "1002"}}}}));
    const auto sent = calls_.take();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].body["status"], "STARTED");
    EXPECT_EQ(sent[0].leg, leg_a);
    EXPECT_EQ(sent[1].body, (json{{"call-guid", "G1"}, {"status", "UPDATED"}}));
    EXPECT_EQ(sent[1].leg, leg_b);  // where the UPDATE came from
    EXPECT_NE(ctl_->show_call(anchor)->find("Metadata: {\"agent\":\"1002\"}\n"), std::string::npos);
}

TEST_F(ControllerTest, UpdateWhileConnectingStartingPausedComesAfterPause) {
    request(start_json("G1", R"(,"codec":"g711alaw")"));  // the call is µ-law: starts paused
    request(update_json());
    streams_.succeed();
    std::vector<std::string> types;
    for (const auto& m : streams_.take()) types.push_back(m["command"]);
    EXPECT_EQ(types, (std::vector<std::string>{"start", "pause", "update"}));
    std::vector<std::string> statuses;
    for (const auto& s : statuses_on(leg_a)) statuses.push_back(s["status"]);
    EXPECT_EQ(statuses, (std::vector<std::string>{"STARTED", "PAUSED", "UPDATED"}));
}

TEST_F(ControllerTest, UpdateWhileConnectingIsDroppedWhenTheStartFails) {
    request(start_json());
    request(update_json());
    streams_.fail("Connection failed");
    expect_only_status(error("Connection failed"));
    EXPECT_TRUE(streams_.commands.empty());
}

// pool.cpp answers a call joining an open connection later; if that
// connection closes first, the fork hears of it as a lost connection.
TEST_F(ControllerTest, ConnectionLostWhileConnectingEndsTheAttempt) {
    request(start_json());
    request(update_json());
    streams_.end("TCP Connection closed");
    expect_only_status(error("TCP Connection closed"));
    EXPECT_EQ(streams_.closed, (std::vector<stream::SessionHandle>{100}));
    EXPECT_EQ(streams_.failed, 1);
    EXPECT_EQ(streams_.ended, 0);
    EXPECT_EQ(ctl_->fork_state(anchor), "none");
    streams_.succeed();  // a late answer changes nothing
    EXPECT_TRUE(streams_.commands.empty());
    // The call can fork again.
    request(start_json("G2"));
    streams_.succeed(61, 19, 20);
    EXPECT_EQ(statuses_on(leg_a).at(0)["status"], "STARTED");
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
}

// ---- validation, carrier lock, retransmissions ----

TEST_F(ControllerTest, BadJsonIsAnErrorWithoutGuid) {
    request("{not json");
    const auto s = statuses_on(leg_a);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0], (json{{"status", "ERROR"}, {"reason", "JSON parse failure"}}));
    EXPECT_EQ(calls_.raw.size(), 0u);
}

TEST_F(ControllerTest, RejectedRequestEchoesItsValidGuid) {
    request(R"({"action":"START","call-guid":"G9","host":"h","port":"80"})");
    expect_only_status(error("Unexpected format or content in JSON", "G9"));
    EXPECT_EQ(env_.trace, (std::vector<std::string>{
                              "callid 58 : Forking request START",
                              "callid 58 : Forking request rejected (Unexpected format or content in JSON)"}));
}

TEST_F(ControllerTest, FirstAcceptedCarrierIsLocked) {
    request(start_json(), leg_a, Carrier::info);
    streams_.succeed();
    calls_.take();
    request(stop_json(), leg_a, Carrier::reinvite);
    expect_only_status(error("Method not supported"));
    EXPECT_EQ(ctl_->fork_state(anchor), "active");
    request(stop_json(), leg_a, Carrier::info);
    EXPECT_EQ(ctl_->fork_state(anchor), "stopped");
}

TEST_F(ControllerTest, ARejectedRequestFixesNoCarrier) {
    request(stop_json(), leg_a, Carrier::reinvite);  // Invalid Stop: rejected
    request("[]", leg_a, Carrier::reinvite);         // JSON parse failure
    calls_.take();
    request(start_json(), leg_a, Carrier::info);
    EXPECT_EQ(streams_.opens.size(), 1u);
    EXPECT_TRUE(calls_.sent.empty());
}

TEST_F(ControllerTest, ACarrierWithTwoJsonPartsIsRefusedAndFixesNothing) {
    request(start_json(), leg_a, Carrier::reinvite, "", /*json_parts=*/2);
    expect_only_status(error("Unexpected format or content in JSON"));
    EXPECT_TRUE(streams_.opens.empty());
    EXPECT_EQ(ctl_->fork_state(anchor), "none");
    request(start_json(), leg_a, Carrier::info);  // the carrier was not locked to re-INVITE
    EXPECT_EQ(streams_.opens.size(), 1u);
}

TEST_F(ControllerTest, ARetransmissionIsNotActedOnTwice) {
    request(start_json(), leg_a, Carrier::info, "tx-1");
    request(start_json(), leg_a, Carrier::info, "tx-1");
    EXPECT_EQ(streams_.opens.size(), 1u);
    EXPECT_TRUE(calls_.sent.empty());  // no Invalid Start for the retransmission
    request(start_json(), leg_a, Carrier::info, "tx-2");
    expect_only_status(error("Invalid Start Fork Request"));
}

}  // namespace
}  // namespace voxfork::fork
