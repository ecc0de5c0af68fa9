// AudioHook v2 as the client: the HTTP message signature (RFC 9421's own
// hmac-sha256 example), durations and identifiers, the reading of server
// messages, A-law to µ-law, and the session on one connection: open/opened,
// seq and serverseq, ping/pong, pause/resume either way, disconnect, close.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "audiohook/connection.hpp"
#include "audiohook/messages.hpp"
#include "audiohook/signature.hpp"
#include "g711.hpp"

namespace voxfork::stream::audiohook {
namespace {

using nlohmann::json;

// RFC 9421 appendix B.2.5: "Signing a Request Using hmac-sha256".
TEST(Signature, Rfc9421HmacSha256Example) {
    const auto key = decode_base64(
        "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==");
    ASSERT_TRUE(key);
    EXPECT_EQ(key->size(), 64u);
    const std::vector<Component> components = {{"date", "Tue, 20 Apr 2021 02:07:55 GMT"},
                                               {"@authority", "example.com"},
                                               {"content-type", "application/json"}};
    const std::string params = R"(created=1618884473;keyid="test-shared-secret")";
    EXPECT_EQ(signature_base(components, signature_params(components, params)),
              "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
              "\"@authority\": example.com\n"
              "\"content-type\": application/json\n"
              "\"@signature-params\": (\"date\" \"@authority\" \"content-type\");created=1618884473;"
              "keyid=\"test-shared-secret\"");
    const auto fields = sign("sig-b25", components, params, *key);
    EXPECT_EQ(fields.input, R"(sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret")");
    EXPECT_EQ(fields.signature, "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:");
}

// AudioHook's profile, against a vector its reference server verifies.
TEST(Signature, AudioHookUpgrade) {
    const UpgradeIdentity id{"/api/v1/audiohook/ws",
                             "127.0.0.1:18572",
                             "d7934305-0972-4844-938e-9060eef73d05",
                             "e160e428-53e2-487c-977d-96989bf5c99d",
                             "30b0e395-84d3-4570-ac13-9a62d8f514c0",
                             "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"};
    const auto fields = sign_upgrade(id, "VGhpc0lzQVVuaXF1ZU5vbmNl", 1641013200, 1641016800,
                                     *decode_base64("TXlTdXBlclNlY3JldEtleVRlbGxOby0xIQ=="));
    EXPECT_EQ(fields.input,
              R"(sig1=("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" )"
              R"("audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";)"
              R"(nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=1641016800)");
    EXPECT_EQ(fields.signature, "sig1=:LkrB2AP1K4rWhBMUbUbmZ3eAqx4b4wzSwxPQPYunn5U=:");
}

TEST(Signature, Base64BothWays) {
    EXPECT_EQ(base64("abcd"), "YWJjZA==");
    EXPECT_EQ(decode_base64("YWJjZA=="), "abcd");
    EXPECT_EQ(decode_base64("YWJj"), "abc");
    EXPECT_FALSE(decode_base64("YWJ"));
    EXPECT_FALSE(decode_base64("Y*Jj"));
}

TEST(Messages, DurationsInIso8601) {
    EXPECT_EQ(duration(0), "PT0S");
    EXPECT_EQ(duration(160), "PT0.02S");
    EXPECT_EQ(duration(800), "PT0.1S");
    EXPECT_EQ(duration(8000), "PT1S");
    EXPECT_EQ(duration(98720), "PT12.34S");
}

TEST(Messages, Identifiers) {
    const auto a = random_uuid(), b = random_uuid();
    EXPECT_NE(a, b);
    ASSERT_EQ(a.size(), 36u);
    EXPECT_EQ(a[14], '4');  // version 4
    EXPECT_EQ(name_uuid(url_namespace, "call-42"), "420e59c3-4fa9-5ecb-a3f3-b87d1e01ceb2");
    EXPECT_EQ(conversation_id("8F3B2C1A0E7D11EF9A2B00505688C0DE"), "8f3b2c1a-0e7d-11ef-9a2b-00505688c0de");
    EXPECT_EQ(conversation_id("call-42"), "420e59c3-4fa9-5ecb-a3f3-b87d1e01ceb2");
}

TEST(Messages, EnvelopeAndOpenInTheirOrder) {
    const Envelope e{"s-1", 3, 2, 160};
    EXPECT_EQ(message(e, "ping").dump(),
              R"({"version":"2","type":"ping","seq":3,"serverseq":2,"id":"s-1","position":"PT0.02S","parameters":{}})");
    const auto open = open_parameters("org", "conv", Participant{"p", "1001", "Alice", "6777"}, {{"agent", "1"}});
    EXPECT_EQ(json::parse(open["media"].dump()),
              json::parse(R"([{"type":"audio","format":"PCMU","channels":["external","internal"],"rate":8000},
                              {"type":"audio","format":"PCMU","channels":["external"],"rate":8000},
                              {"type":"audio","format":"PCMU","channels":["internal"],"rate":8000}])"));
    EXPECT_EQ(open["participant"]["aniName"], "Alice");
    EXPECT_EQ(open["customConfig"], (json{{"agent", "1"}}));
}

TEST(Messages, ServerMessagesAreReadThroughTypeChecks) {
    const auto m = parse_server_message(R"({"version":"2","type":"opened","seq":1,"clientseq":1,"parameters":{"a":1}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, "opened");
    EXPECT_EQ(m->seq, 1u);
    for (const char* bad : {"", "[]", "x", R"({"type":1})", R"({"type":"pong","seq":"2"})", R"({"type":"pong","seq":-1})"})
        EXPECT_FALSE(parse_server_message(bad)) << bad;
}

TEST(Messages, OpenedMediaMustBeOneWeOffered) {
    const auto choice = [](const char* media) { return chosen_media(json::parse(media)); };
    const auto both = choice(R"({"media":[{"type":"audio","format":"PCMU","channels":["external","internal"],"rate":8000}]})");
    ASSERT_TRUE(both);
    EXPECT_TRUE(both->external && both->internal);
    const auto internal = choice(R"({"media":[{"type":"audio","format":"PCMU","channels":["internal"],"rate":8000}]})");
    ASSERT_TRUE(internal);
    EXPECT_TRUE(!internal->external && internal->internal);
    EXPECT_FALSE(choice(R"({"media":[]})")->any());  // the server wants no audio
    EXPECT_FALSE(choice("{}")->any());
    for (const char* bad : {R"({"media":[{"type":"audio","format":"L16","channels":["external"],"rate":8000}]})",
                            R"({"media":[{"type":"audio","format":"PCMU","channels":["external"],"rate":16000}]})",
                            R"({"media":[{"type":"audio","format":"PCMU","channels":["internal","external"],"rate":8000}]})",
                            R"({"media":[{"type":"audio","format":"PCMU","channels":"external","rate":8000}]})",
                            R"({"media":[{"type":"audio","format":"PCMU","channels":["external"],"rate":"8000"}]})",
                            R"({"media":"PCMU"})"})
        EXPECT_FALSE(choice(bad)) << bad;
}

TEST(G711, ALawToMuLawKeepsTheSample) {
    // A-law's quietest code (+8: A-law has no zero) to µ-law's nearest.
    EXPECT_EQ(g711::ulaw_to_linear(g711::alaw_to_ulaw(0xd5)), 8);
    for (int a = 0; a < 256; ++a) {
        const int linear = g711::alaw_to_linear(static_cast<std::uint8_t>(a));
        const int back = g711::ulaw_to_linear(g711::alaw_to_ulaw(static_cast<std::uint8_t>(a)));
        // µ-law's steps are at most 1/16 of the magnitude (plus its bias).
        EXPECT_LE(std::abs(back - linear), std::abs(linear) / 16 + 8) << a;
    }
}

// The transport as the connection sees it: the messages it sent, decoded.
class RecordingOutput final : public ws::Output {
public:
    void send_binary(std::uint32_t, std::span<const std::uint8_t> message) override {
        frames.emplace_back(message.begin(), message.end());
        if (connection) connection->on_sent(0, message.size());
    }
    void send_text(std::string text) override { messages.push_back(json::parse(text)); }
    void close_when_sent() override { closed = true; }
    void drop() override { dropped = true; }
    std::vector<std::string> types() const {
        std::vector<std::string> out;
        for (const auto& m : messages) out.push_back(m["type"]);
        return out;
    }
    Connection* connection = nullptr;
    std::vector<std::vector<std::uint8_t>> frames;
    std::vector<json> messages;
    bool closed = false, dropped = false;
};

class RecordingEvents final : public SessionEvents {
public:
    void on_opened(const MediaChoice& media) override { said.push_back(media.any() ? "opened" : "opened (no media)"); }
    void on_open_failed(std::string_view reason) override { said.push_back("failed: " + std::string(reason)); }
    void on_server_pause() override { said.push_back("server pause"); }
    void on_server_resume() override { said.push_back("server resume"); }
    void on_updated() override { said.push_back("updated"); }
    void on_disconnect(const std::string& words) override { said.push_back("disconnect: " + words); }
    std::vector<std::string> said;
};

class AudiohookConnectionTest : public ::testing::Test {
protected:
    AudiohookConnectionTest() : conn_(OpenRequest{"sess-1", "org-1", "conv-1", {"p-1", "", "", ""}, {{"k", "v"}}, 0, {}}) {
        conn_.set_events(&events_);
        out_.connection = &conn_;
        // The open's timer starts from the connection's own clock, read
        // between these two: tests of it tick from one or the other.
        before_open_ = Clock::now();
        conn_.on_open(out_);
        after_open_ = Clock::now();
    }
    void server(const json& message) { conn_.on_text(message.dump()); }
    void opened(const char* channels = R"(["external","internal"])") {
        server({{"version", "2"}, {"type", "opened"}, {"seq", 1}, {"clientseq", 1},
                {"parameters", {{"media", json::array({{{"type", "audio"}, {"format", "PCMU"},
                                                        {"channels", json::parse(channels)}, {"rate", 8000}}})}}}});
    }
    void push(media::Direction d, std::uint32_t position, std::uint8_t value) {
        const std::vector<std::uint8_t> payload(160, value);
        ASSERT_TRUE(conn_.ring()->push(d, position, std::span<const std::uint8_t>(payload)));
    }
    void tick(Clock::time_point at) {
        conn_.drain(out_);
        conn_.on_tick(at);
    }

    RecordingEvents events_;
    RecordingOutput out_;
    Connection conn_;
    Clock::time_point before_open_, after_open_;
};

TEST_F(AudiohookConnectionTest, OpenGoesFirstWithItsParameters) {
    ASSERT_EQ(out_.types(), (std::vector<std::string>{"open"}));
    const auto& open = out_.messages[0];
    EXPECT_EQ(open["version"], "2");
    EXPECT_EQ(open["seq"], 1);
    EXPECT_EQ(open["serverseq"], 0);
    EXPECT_EQ(open["id"], "sess-1");
    EXPECT_EQ(open["position"], "PT0S");
    EXPECT_EQ(open["parameters"]["organizationId"], "org-1");
    EXPECT_EQ(open["parameters"]["conversationId"], "conv-1");
    EXPECT_EQ(open["parameters"]["customConfig"], (json{{"k", "v"}}));
}

TEST_F(AudiohookConnectionTest, OpenedBringsTheSessionUpAndStereoFramesFollow) {
    opened();
    EXPECT_EQ(events_.said, (std::vector<std::string>{"opened"}));
    const auto t0 = Clock::now();
    conn_.start(t0, Codec::alaw);
    push(media::Direction::caller, 0, 0xd5);  // A-law's quietest code, as µ-law on the wire
    push(media::Direction::callee, 0, 0x55);
    tick(t0 + std::chrono::milliseconds(60) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_.frames.size(), 3u);
    ASSERT_EQ(out_.frames[0].size(), 320u);
    EXPECT_EQ(out_.frames[0][0], g711::alaw_to_ulaw(0xd5));
    EXPECT_EQ(out_.frames[0][1], g711::alaw_to_ulaw(0x55));
    EXPECT_EQ(conn_.delivery(media::Direction::callee).frames_sent, 3u);
}

TEST_F(AudiohookConnectionTest, OneChosenChannelCarriesOnlyThatDirection) {
    opened(R"(["internal"])");
    const auto t0 = Clock::now();
    conn_.start(t0, Codec::ulaw);
    push(media::Direction::caller, 0, 1);
    push(media::Direction::callee, 0, 2);
    tick(t0 + std::chrono::milliseconds(60) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_.frames.size(), 3u);
    EXPECT_EQ(out_.frames[0], std::vector<std::uint8_t>(160, 2));
}

TEST_F(AudiohookConnectionTest, NoOpenedWithin5sFails) {
    tick(before_open_ + std::chrono::milliseconds(4900));
    EXPECT_TRUE(events_.said.empty());
    tick(after_open_ + open_timeout + std::chrono::milliseconds(10));
    EXPECT_EQ(events_.said, (std::vector<std::string>{"failed: Connection failed"}));
    EXPECT_EQ(out_.types(), (std::vector<std::string>{"open", "close"}));
}

TEST_F(AudiohookConnectionTest, OpenedWithMediaWeDidNotOfferFails) {
    opened(R"(["agent"])");
    EXPECT_EQ(events_.said, (std::vector<std::string>{"failed: Connection failed"}));
}

TEST_F(AudiohookConnectionTest, DisconnectDuringOpenFails) {
    server({{"version", "2"}, {"type", "disconnect"}, {"seq", 1}, {"parameters", {{"reason", "unauthorized"}}}});
    EXPECT_EQ(events_.said, (std::vector<std::string>{"failed: Connection failed"}));
}

TEST_F(AudiohookConnectionTest, PingEvery5sAndADeadServerIsDropped) {
    opened();
    const auto t0 = Clock::now();
    tick(t0 + ping_interval + std::chrono::milliseconds(10));
    EXPECT_EQ(out_.types().back(), "ping");
    EXPECT_EQ(out_.messages.back()["serverseq"], 1);  // the last server seq seen
    EXPECT_FALSE(out_.dropped);
    tick(t0 + pong_timeout + std::chrono::milliseconds(10));
    EXPECT_TRUE(out_.dropped);
}

TEST_F(AudiohookConnectionTest, PauseAndResumeTellTheGap) {
    const auto t0 = Clock::now();  // before `opened` starts the ping's clock: no ping falls due below
    opened();
    conn_.start(t0, Codec::ulaw);
    push(media::Direction::caller, 0, 1);
    tick(t0 + std::chrono::milliseconds(100));
    conn_.pause(t0 + std::chrono::milliseconds(100));
    conn_.resume(t0 + std::chrono::milliseconds(1100), Codec::ulaw);
    const auto& m = out_.messages;
    ASSERT_EQ(out_.types(), (std::vector<std::string>{"open", "paused", "resumed"}));
    EXPECT_EQ(m[1]["position"], "PT0.04S");  // two frames were due by 100 ms
    EXPECT_EQ(m[2]["parameters"], (json{{"start", "PT0.04S"}, {"discarded", "PT1S"}}));
    EXPECT_EQ(m[2]["seq"], 3);
}

TEST_F(AudiohookConnectionTest, TheServersPauseIsAnsweredAndTold) {
    opened();
    server({{"version", "2"}, {"type", "pause"}, {"seq", 2}, {"parameters", json::object()}});
    server({{"version", "2"}, {"type", "resume"}, {"seq", 3}, {"parameters", json::object()}});
    EXPECT_EQ(out_.types(), (std::vector<std::string>{"open", "paused", "resumed"}));
    EXPECT_EQ(events_.said, (std::vector<std::string>{"opened", "server pause", "server resume"}));
}

TEST_F(AudiohookConnectionTest, UpdateIsDoneAtUpdatedOrAfter5sWithout) {
    opened();
    const auto t0 = Clock::now();
    conn_.update(t0, "es-ES");
    EXPECT_EQ(out_.messages.back()["type"], "update");
    EXPECT_EQ(out_.messages.back()["parameters"], (json{{"language", "es-ES"}}));
    server({{"version", "2"}, {"type", "updated"}, {"seq", 2}, {"parameters", json::object()}});
    server({{"version", "2"}, {"type", "updated"}, {"seq", 3}, {"parameters", json::object()}});  // none asked
    EXPECT_EQ(events_.said, (std::vector<std::string>{"opened", "updated"}));
    conn_.update(t0, "fr-FR");
    tick(t0 + std::chrono::seconds(4));
    EXPECT_EQ(events_.said.size(), 2u);
    tick(t0 + updated_timeout);
    EXPECT_EQ(events_.said.back(), "updated");
}

TEST_F(AudiohookConnectionTest, DisconnectIsAnsweredWithCloseThenClosedEndsTheWebSocket) {
    opened();
    server({{"version", "2"}, {"type", "disconnect"}, {"seq", 2}, {"parameters", {{"reason", "completed"}}}});
    EXPECT_EQ(events_.said.back(), "disconnect: completed");
    EXPECT_EQ(out_.types().back(), "close");
    EXPECT_EQ(out_.messages.back()["parameters"], (json{{"reason", "disconnect"}}));
    EXPECT_FALSE(out_.closed);
    server({{"version", "2"}, {"type", "closed"}, {"seq", 3}, {"parameters", json::object()}});
    EXPECT_TRUE(out_.closed);
}

TEST_F(AudiohookConnectionTest, WithoutClosedTheWebSocketEndsAfter5s) {
    opened();
    const auto t0 = Clock::now();
    conn_.finish(t0, "end");
    EXPECT_EQ(out_.messages.back()["parameters"], (json{{"reason", "end"}}));
    tick(t0 + std::chrono::seconds(4));
    EXPECT_FALSE(out_.closed);
    tick(t0 + close_timeout + std::chrono::milliseconds(10));
    EXPECT_TRUE(out_.closed);
}

TEST_F(AudiohookConnectionTest, ErrorsAndEventsAreCountedAndBadInputIgnored) {
    opened();
    server({{"version", "2"}, {"type", "event"}, {"seq", 2}, {"parameters", {{"entities", json::array()}}}});
    server({{"version", "2"}, {"type", "error"}, {"seq", 3}, {"parameters", {{"code", 409}}}});
    conn_.on_text("not json");
    conn_.on_text(std::string(10 * 1024 * 1024, '{'));
    server({{"version", "2"}, {"type", "mystery"}, {"seq", 4}});
    EXPECT_EQ(conn_.server_events(), 1u);
    EXPECT_EQ(conn_.server_errors(), 3u);
    EXPECT_NE(conn_.latest_event().find("entities"), std::string::npos);
    const std::uint8_t bytes[2] = {};
    EXPECT_FALSE(conn_.on_binary(bytes));  // a server sends no audio: a protocol error
}

// Continuity: what the fork asked for while the session was lost reaches the
// new session after its `opened`, in the order it was asked, each message
// with the position it was made at and the new session's seq.
TEST(AudiohookContinuity, MessagesMadeDuringAnOutageFollowTheResumedOpenInOrder) {
    RecordingEvents events;
    RecordingOutput out;
    Connection conn(OpenRequest{"sess-1", "org-1", "conv-1", {"p-1", "", "", ""}, json::object(), 5, {}});
    conn.set_events(&events);
    out.connection = &conn;
    conn.on_open(out);
    const auto opened = [&](int seq) {
        conn.on_text(json({{"version", "2"}, {"type", "opened"}, {"seq", seq}, {"clientseq", 1},
                           {"parameters", {{"media", json::array({{{"type", "audio"}, {"format", "PCMU"},
                                                                   {"channels", {"external", "internal"}},
                                                                   {"rate", 8000}}})}}}})
                          .dump());
    };
    opened(1);
    const auto t0 = Clock::now();
    conn.start(t0, Codec::ulaw);
    ASSERT_TRUE(conn.resumable());

    conn.on_interrupted();
    conn.pause(t0);
    conn.resume(t0 + std::chrono::seconds(1), Codec::ulaw);
    conn.update(t0 + std::chrono::seconds(1), "fr-FR");
    conn.pause(t0 + std::chrono::seconds(1));
    conn.keep();
    EXPECT_EQ(out.types(), (std::vector<std::string>{"open"}));  // nothing while lost

    conn.on_open(out);  // the new session
    conn.keep();
    EXPECT_EQ(out.types(), (std::vector<std::string>{"open", "open"})) << "nothing before its `opened`";
    // The replayed `update` waits for its `updated` from a reading of the
    // connection's own clock after this one.
    const auto reopened = Clock::now();
    opened(1);
    conn.drain(out);
    conn.on_tick(reopened);
    ASSERT_EQ(out.types(), (std::vector<std::string>{"open", "open", "paused", "resumed", "update", "paused"}));
    const std::string id = out.messages[1]["id"];
    for (std::size_t i = 2; i < out.messages.size(); ++i) {
        EXPECT_EQ(out.messages[i]["id"], id);
        EXPECT_EQ(out.messages[i]["seq"], i);  // the new session's: open was 1
        EXPECT_EQ(out.messages[i]["position"], "PT0S");
    }
    EXPECT_EQ(out.messages[3]["parameters"]["start"], "PT0S");
    EXPECT_EQ(out.messages[3]["parameters"]["discarded"], "PT1S");
    EXPECT_EQ(out.messages[4]["parameters"]["language"], "fr-FR");
    // The `update` waits for its `updated` from when it went out.
    conn.on_tick(reopened + std::chrono::seconds(1));
    EXPECT_EQ(events.said, (std::vector<std::string>{"opened"}));
    conn.on_text(R"({"version":"2","type":"updated","seq":2,"clientseq":5,"parameters":{}})");
    EXPECT_EQ(events.said, (std::vector<std::string>{"opened", "updated"}));
    // The final state holds: paused, so no audio follows.
    conn.on_tick(Clock::now() + std::chrono::seconds(2));
    EXPECT_TRUE(out.frames.empty());
}

}  // namespace
}  // namespace voxfork::stream::audiohook
