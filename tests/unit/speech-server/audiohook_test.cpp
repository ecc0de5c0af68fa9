// The AudioHook server side of speech-server: the HTTP message signature
// check (with the example the AudioHook reference server's own signer
// produced), durations and ids, and a session's answers.
#include "audiohook.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace speech {
namespace {

using nlohmann::json;

// Inputs and headers of a signature made by the reference implementation's
// signer (created 1641013200, expires 1641016800).
Upgrade reference_upgrade() {
    Upgrade u;
    u.target = "/api/v1/audiohook/ws";
    u.headers = {
        {"host", "127.0.0.1:18572"},
        {"audiohook-organization-id", "d7934305-0972-4844-938e-9060eef73d05"},
        {"audiohook-session-id", "e160e428-53e2-487c-977d-96989bf5c99d"},
        {"audiohook-correlation-id", "30b0e395-84d3-4570-ac13-9a62d8f514c0"},
        {"x-api-key", "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"},
        {"signature-input",
         "sig1=(\"@request-target\" \"@authority\" \"audiohook-organization-id\" \"audiohook-session-id\" "
         "\"audiohook-correlation-id\" \"x-api-key\");keyid=\"SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh\";"
         "nonce=\"VGhpc0lzQVVuaXF1ZU5vbmNl\";alg=\"hmac-sha256\";created=1641013200;expires=1641016800"},
        {"signature", "sig1=:LkrB2AP1K4rWhBMUbUbmZ3eAqx4b4wzSwxPQPYunn5U=:"},
    };
    return u;
}
const std::string secret = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xIQ==";
constexpr double created = 1641013200;

TEST(AudiohookSignature, TheReferenceExampleVerifies) {
    EXPECT_EQ(audiohook_signature_problem(reference_upgrade(), secret, created + 2), "");
}

TEST(AudiohookSignature, AnyCoveredValueChangedBreaksIt) {
    for (const char* name : {"host", "audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id"}) {
        Upgrade u = reference_upgrade();
        u.headers[name] = u.headers[name].get<std::string>() + "0";
        EXPECT_EQ(audiohook_signature_problem(u, secret, created + 2), "signatures do not match") << name;
    }
    Upgrade u = reference_upgrade();
    u.target += "?x=1";
    EXPECT_EQ(audiohook_signature_problem(u, secret, created + 2), "signatures do not match");
    EXPECT_EQ(audiohook_signature_problem(reference_upgrade(), "b3RoZXI=", created + 2), "signatures do not match");
}

TEST(AudiohookSignature, TimeKeyidNonceAndCoverageAreChecked) {
    EXPECT_NE(audiohook_signature_problem(reference_upgrade(), secret, created + 60).find("created is not now"),
              std::string::npos);
    EXPECT_NE(audiohook_signature_problem(reference_upgrade(), secret, created - 60).find("created is not now"),
              std::string::npos);
    Upgrade key = reference_upgrade();
    key.headers["x-api-key"] = "another";
    EXPECT_EQ(audiohook_signature_problem(key, secret, created + 2), "keyid is not the X-API-KEY");
    Upgrade nonce = reference_upgrade();
    auto input = nonce.headers["signature-input"].get<std::string>();
    input.replace(input.find("VGhpc0lzQVVuaXF1ZU5vbmNl"), 24, "short");
    nonce.headers["signature-input"] = input;
    EXPECT_EQ(audiohook_signature_problem(nonce, secret, created + 2), "nonce missing or under 22 characters");
    Upgrade partial = reference_upgrade();
    input = partial.headers["signature-input"].get<std::string>();
    input.erase(input.find(" \"x-api-key\""), 12);
    partial.headers["signature-input"] = input;
    EXPECT_EQ(audiohook_signature_problem(partial, secret, created + 2), "does not cover x-api-key");
    Upgrade huge = reference_upgrade();
    input = huge.headers["signature-input"].get<std::string>();
    input.replace(input.find("created=1641013200"), 18, "created=" + std::string(400, '9'));
    huge.headers["signature-input"] = input;
    EXPECT_EQ(audiohook_signature_problem(huge, secret, created + 2), "no created");
    Upgrade unsigned_upgrade = reference_upgrade();
    unsigned_upgrade.headers.erase("signature");
    unsigned_upgrade.headers.erase("signature-input");
    EXPECT_EQ(audiohook_signature_problem(unsigned_upgrade, secret, created + 2), "malformed Signature-Input");
}

TEST(AudiohookFields, DurationsAndIds) {
    EXPECT_DOUBLE_EQ(*audiohook_duration("PT12.34S"), 12.34);
    EXPECT_DOUBLE_EQ(*audiohook_duration("PT0S"), 0);
    EXPECT_DOUBLE_EQ(*audiohook_duration("PT.5S"), 0.5);
    for (const char* bad : {"", "PTS", "12S", "PT1.S", "PT-1S", "PT1M", "P1S", "PT1.2.3S",
                            "PT999999999999999999999999999999999999999999S"})
        EXPECT_FALSE(audiohook_duration(bad)) << bad;
    EXPECT_TRUE(audiohook_uuid("e160e428-53e2-487c-977d-96989bf5c99d"));
    EXPECT_FALSE(audiohook_uuid("E160E428-53E2-487C-977D-96989BF5C99D"));  // lower case only
    EXPECT_FALSE(audiohook_uuid("e160e428-53e2-787c-977d-96989bf5c99d"));  // version 7
    EXPECT_FALSE(audiohook_uuid("e160e42853e2487c977d96989bf5c99d"));
}

class Answers final : public Replies {
public:
    void send_text(std::string text) override { sent.push_back(json::parse(text)); }
    std::vector<json> sent;
};

class AudiohookSession : public ::testing::Test {
protected:
    AudiohookSession() {
        options.out_dir = (std::filesystem::temp_directory_path() /
                           ("speech-unit-" + std::to_string(::getpid()) + "-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                              .string();
        options.quiet = true;
        recorder = std::make_unique<Recorder>(options);
        protocol = std::make_unique<Audiohook>(options, *recorder, 1, answers);
    }
    ~AudiohookSession() override {
        protocol.reset();
        recorder.reset();
        std::filesystem::remove_all(options.out_dir);
    }
    std::string message(const char* type, std::uint64_t seq, json parameters, const char* position = "PT0S") {
        return json{{"version", "2"},    {"type", type},         {"seq", seq},
                    {"serverseq", answers.sent.size()},          {"id", session},
                    {"position", position}, {"parameters", std::move(parameters)}}
            .dump();
    }
    std::string file(const std::string& name) {
        std::ifstream in(std::filesystem::path(options.out_dir) / name, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }
    std::uint64_t violations() { return recorder->finish()["violations"]; }

    const std::string session = "e160e428-53e2-487c-977d-96989bf5c99d";
    Options options;
    Answers answers;
    std::unique_ptr<Recorder> recorder;
    std::unique_ptr<Audiohook> protocol;
};

json open_parameters() {
    auto offer = [](json channels) {
        return json{{"type", "audio"}, {"format", "PCMU"}, {"channels", channels}, {"rate", 8000}};
    };
    return {{"organizationId", "d7934305-0972-4844-938e-9060eef73d05"},
            {"conversationId", "8f3b2c1a-0e7d-41ef-9a2b-00505688c0de"},
            {"participant", {{"id", "30b0e395-84d3-4570-ac13-9a62d8f514c0"}, {"ani", "1"}, {"aniName", "a"},
                             {"dnis", "2"}}},
            {"media", json::array({offer({"external", "internal"}), offer({"external"})})}};
}

TEST_F(AudiohookSession, OpenedPongClosedAndStereoSplitPerChannel) {
    Upgrade u = reference_upgrade();
    u.headers.erase("signature");
    u.headers.erase("signature-input");
    u.headers["audiohook-session-id"] = session;
    EXPECT_EQ(protocol->judge(u).status, 0);
    protocol->on_text(message("open", 1, open_parameters()));
    ASSERT_EQ(answers.sent.size(), 1u);
    EXPECT_EQ(answers.sent[0]["type"], "opened");
    EXPECT_EQ(answers.sent[0]["parameters"]["media"][0]["channels"], json::array({"external", "internal"}));
    const std::uint8_t stereo[] = {1, 2, 3, 4, 5, 6};
    EXPECT_EQ(protocol->on_binary(stereo, sizeof stereo), 1u);
    protocol->on_text(message("ping", 2, json::object(), "PT0S"));
    EXPECT_EQ(answers.sent.back()["type"], "pong");
    EXPECT_EQ(answers.sent.back()["clientseq"], 2);
    protocol->on_text(message("close", 3, {{"reason", "end"}}, "PT0S"));
    EXPECT_EQ(answers.sent.back()["type"], "closed");
    EXPECT_EQ(answers.sent.back()["seq"], 3);
    EXPECT_TRUE(protocol->on_close().empty());
    EXPECT_EQ(file("conn1-ch1-caller.raw"), std::string("\1\3\5"));
    EXPECT_EQ(file("conn1-ch2-callee.raw"), std::string("\2\4\6"));
    EXPECT_EQ(violations(), 0u);
}

TEST_F(AudiohookSession, AWrongSeqAndAudioWhilePausedAreViolations) {
    Upgrade u;
    u.headers = {{"audiohook-session-id", session}};
    protocol->judge(u);  // two headers missing: two violations
    protocol->on_text(message("open", 1, open_parameters()));  // organizationId is not the (absent) header's
    protocol->on_text(message("paused", 3, json::object()));   // seq 3 after 1
    const std::uint8_t stereo[] = {1, 2};
    protocol->on_binary(stereo, sizeof stereo);
    EXPECT_EQ(protocol->on_close(), (std::vector<std::uint32_t>{1, 2}));  // never closed
    EXPECT_EQ(violations(), 2u + 1u + 1u + 1u);
}

}  // namespace
}  // namespace speech
