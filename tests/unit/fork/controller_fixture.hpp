// A controller wired to fakes, in a call of two legs (58 inbound, 59
// outbound) whose outbound dial-peer is fork-enabled, on G.711 µ-law.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "fakes.hpp"
#include "request.hpp"

namespace voxfork::fork::testing {

using nlohmann::json;

inline constexpr CallId anchor = 58;
inline constexpr CallId leg_a = 58;
inline constexpr CallId leg_b = 59;
inline constexpr media::SessionId relay = 3;

inline std::string start_json(const std::string& guid = "G1", const std::string& extra = "") {
    return R"({"action":"START","call-guid":")" + guid +
           R"(","host":"asr.lab.example","port":8443,"path":"/v1/fork","token":"tok","metadata":{"agent":"1001"})" +
           extra + "}";
}
inline std::string stop_json(const std::string& guid = "G1") {
    return R"({"action":"STOP","call-guid":")" + guid + "\"}";
}
inline std::string update_json(const std::string& guid = "G1", const std::string& extra = "") {
    return R"({"action":"UPDATE","call-guid":")" + guid + R"(","metadata":{"agent":"1002"})" + extra + "}";
}

inline MediaState g711(const std::string& codec = "g711ulaw", bool hold = false) {
    MediaState m;
    m.codec[0] = m.codec[1] = codec;
    m.hold = hold;
    m.telephone_event_pt[0] = m.telephone_event_pt[1] = 101;
    return m;
}

class ControllerTest : public ::testing::Test {
protected:
    ControllerTest() {
        CallFacts facts;
        facts.anchor = anchor;
        facts.confirmed = true;
        facts.profile_tag[0] = 0;
        facts.profile_tag[1] = 99;  // the outbound dial-peer has the media class
        facts.media = g711();
        facts.relay_session = relay;
        facts.caller_number = "1000";
        facts.caller_name = "Alice";
        facts.called_number = "6777";
        calls_.calls[anchor] = facts;
        ctl_ = std::make_unique<Controller>(calls_, streams_, taps_, env_.make());
        streams_.set_events(ctl_.get());
        ctl_->on_media_changed(anchor, facts.media);
    }

    void request(const std::string& body, CallId leg = leg_a, Carrier carrier = Carrier::info,
                 std::string transaction = "", std::size_t json_parts = 1) {
        call::ForkRequest r;
        r.anchor = anchor;
        r.leg = leg;
        r.side = leg == leg_a ? media::Leg::a : media::Leg::b;
        r.carrier = carrier;
        r.json = body;
        r.transaction = transaction.empty() ? "t" + std::to_string(++transactions_) : transaction;
        r.sip_call_id = leg == leg_a ? "a84b4c76e66710@10.0.0.1" : "b-leg@10.0.0.2";
        r.json_parts = json_parts;
        ctl_->on_fork_request(r);
    }

    void media(const MediaState& m) {
        calls_.calls[anchor].media = m;
        ctl_->on_media_changed(anchor, m);
    }

    // START accepted and attached; the statuses and messages so far are dropped.
    void start_active(const std::string& extra = "") {
        request(start_json("G1", extra));
        streams_.succeed();
        calls_.take();
        streams_.take();
    }

    std::vector<json> statuses_on(CallId leg) {
        std::vector<json> out;
        for (auto& s : calls_.take()) {
            EXPECT_EQ(s.leg, leg) << s.body.dump();
            out.push_back(s.body);
        }
        return out;
    }

    static json error(const std::string& reason, const std::optional<std::string>& guid = "G1") {
        json j = {{"status", "ERROR"}, {"reason", reason}};
        if (guid) j["call-guid"] = *guid;
        return j;
    }

    void expect_only_status(const json& expected, CallId leg = leg_a) {
        const auto s = statuses_on(leg);
        ASSERT_EQ(s.size(), 1u);
        EXPECT_EQ(s[0], expected);
    }

    media::TapSink* tap(media::Direction d) { return taps_.tap(relay, d); }

    // The end packet of an RFC 4733 event (telephone-event PT 101) into the tap.
    void key_end_packet(media::Direction d, std::uint8_t event, std::uint16_t duration, std::uint32_t timestamp) {
        const std::array<std::uint8_t, 4> body{event, 0x8a, static_cast<std::uint8_t>(duration >> 8),
                                               static_cast<std::uint8_t>(duration & 0xff)};
        media::RtpPacket p;
        p.payload_type = 101;
        p.timestamp = timestamp;
        p.payload = body;
        tap(d)->on_rtp(d, p);
    }

    FakeCalls calls_;
    FakeStreams streams_;
    FakeTaps taps_;
    FakeEnvironment env_;
    std::unique_ptr<Controller> ctl_;
    int transactions_ = 0;
};

}  // namespace voxfork::fork::testing
