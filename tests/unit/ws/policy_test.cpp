#include <gtest/gtest.h>

#include "policy.hpp"

#include <voxfork/ws.hpp>

namespace voxfork::ws::detail {
namespace {

using config::CipherSuite;

// Plays the pool's attach loop: each call joins the chosen connection or opens one.
std::vector<int> distribute(int calls, int threshold) {
    std::vector<Candidate> conns;
    for (int i = 0; i < calls; ++i) {
        auto chosen = choose_connection(conns, threshold);
        if (!chosen) {
            conns.push_back({static_cast<std::uint32_t>(conns.size() + 1), 0});
            chosen = conns.back().id;
        }
        ++conns[*chosen - 1].calls;
    }
    std::vector<int> out;
    for (const auto& c : conns) out.push_back(c.calls);
    return out;
}

TEST(ChooseConnection, SevenCallsThresholdThreeGiveThreeThreeOne) {
    EXPECT_EQ(distribute(7, 3), (std::vector<int>{3, 3, 1}));
    EXPECT_EQ(distribute(1, 1), (std::vector<int>{1}));
    EXPECT_EQ(distribute(3, 1), (std::vector<int>{1, 1, 1}));
    EXPECT_EQ(distribute(20, 20), (std::vector<int>{20}));
}

TEST(ChooseConnection, FewestCallsBelowThresholdLowerIdOnTie) {
    const Candidate c[] = {{4, 2}, {2, 1}, {3, 1}, {1, 3}};
    EXPECT_EQ(choose_connection(c, 3), 2u);
    const Candidate full[] = {{1, 3}, {2, 3}};
    EXPECT_EQ(choose_connection(full, 3), std::nullopt);
    EXPECT_EQ(choose_connection({}, 3), std::nullopt);
    // After a detach the emptier connection is preferred.
    const Candidate after[] = {{1, 3}, {2, 0}};
    EXPECT_EQ(choose_connection(after, 3), 2u);
}

TEST(ClassifyFailure, EachStepHasItsReasonAndCounter) {
    struct Row {
        Step step;
        int status;
        std::string_view reason;
        FailureCounter counter;
    };
    const Row rows[] = {
        {Step::resolve, 0, "DNS lookup failed", FailureCounter::tcp},
        {Step::proxy_resolve, 0, "Proxy DNS lookup failed", FailureCounter::tcp},
        {Step::tcp_connect, 0, "Connection failed", FailureCounter::tcp},
        {Step::proxy_connect, 403, "Connection failed", FailureCounter::http},
        {Step::tls_handshake, 0, "Connection failed", FailureCounter::http},
        {Step::upgrade, 200, "Connection failed", FailureCounter::http},
        {Step::upgrade, 0, "Connection failed", FailureCounter::http},
        {Step::upgrade, 401, "Authentication token invalid", FailureCounter::http},
        {Step::upgrade, 403, "Authentication token invalid", FailureCounter::http},
        {Step::upgrade, 404, "Connection failed", FailureCounter::http},
    };
    for (const auto& r : rows) {
        const auto f = classify_failure(r.step, r.status);
        EXPECT_EQ(f.reason, r.reason) << to_string(r.step) << " " << r.status;
        EXPECT_EQ(f.counter, r.counter) << to_string(r.step) << " " << r.status;
    }
}

TEST(CipherList, EachNameMapsToItsOpenSslSuites) {
    auto one = [](CipherSuite s) { return openssl_cipher_list(std::vector<CipherSuite>{s}); };
    EXPECT_EQ(one(CipherSuite::aes_128_cbc_sha), "AES128-SHA");
    EXPECT_EQ(one(CipherSuite::dhe_rsa_aes_cbc_sha2), "DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256");
    EXPECT_EQ(one(CipherSuite::ecdhe_rsa_aes_cbc_sha2), "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384");
    EXPECT_EQ(one(CipherSuite::rsa_aes_cbc_sha2), "AES128-SHA256:AES256-SHA256");
    EXPECT_EQ(one(CipherSuite::ecdhe_ecdsa_aes_gcm_sha2),
              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
    EXPECT_EQ(one(CipherSuite::ecdhe_rsa_aes_gcm_sha2), "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256");
}

TEST(CipherList, EmptyMeansAllSixInTableOrderAndDuplicatesOnce) {
    const std::string all = openssl_cipher_list({});
    EXPECT_EQ(all,
              "AES128-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:ECDHE-RSA-AES128-SHA256:"
              "ECDHE-RSA-AES256-SHA384:AES128-SHA256:AES256-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256");
    const std::vector<CipherSuite> two = {CipherSuite::ecdhe_rsa_aes_gcm_sha2, CipherSuite::aes_128_cbc_sha,
                                          CipherSuite::ecdhe_rsa_aes_gcm_sha2};
    EXPECT_EQ(openssl_cipher_list(two), "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256");
}

TEST(MaskToken, FirstEightCharactersThenStars) {
    EXPECT_EQ(mask_token("e2238f3a-e43c-3f54-a05a-dd2e4bd4631f"), "e2238f3a****");
    EXPECT_EQ(mask_token(""), "none");
    EXPECT_EQ(mask_token("abc"), "abc****");
    EXPECT_EQ(mask_token("12345678"), "12345678****");
}

// IPv6 literals are kept bare in a key and bracketed wherever a port follows.
TEST(Literals, UrlsAndAuthoritiesBracketIpv6) {
    EXPECT_EQ(url_of("127.0.0.1", 8000, false), "ws://127.0.0.1:8000");
    EXPECT_EQ(url_of("asr.lab.example", 8443, true), "wss://asr.lab.example:8443");
    EXPECT_EQ(url_of("::1", 8000, false), "ws://[::1]:8000");
    EXPECT_EQ(url_of("2001:db8::1", 443, true), "wss://[2001:db8::1]:443");
    EXPECT_EQ(voxfork::ws::authority("127.0.0.1", 1), "127.0.0.1:1");
    EXPECT_EQ(voxfork::ws::authority("::1", 65535), "[::1]:65535");
}

TEST(QueueSize, TwoSecondsOfBothChannelsPerCall) {
    EXPECT_EQ(queue_frames_for(3), 600u);
    EXPECT_EQ(queue_frames_for(1), 200u);
    EXPECT_EQ(queue_frames_for(20), 4000u);
}

// A replay leaves a second of the queue to the live audio after it.
TEST(ReplayRoom, FillsTheSendQueueToHalfAtMost) {
    EXPECT_EQ(replay_room(0, 4000), 2000u);
    EXPECT_EQ(replay_room(1500, 4000), 500u);
    EXPECT_EQ(replay_room(2000, 4000), 0u);
    EXPECT_EQ(replay_room(3999, 4000), 0u);
    EXPECT_EQ(replay_room(0, 1), 1u);  // never stuck
    EXPECT_EQ(replay_room(1, 1), 0u);
}

// docs/stream.md, Continuity: 0.2 s after the loss, doubling to 5 s, the last attempt when
// the window ends, then no more.
TEST(ReconnectStep, BackoffDoublesToFiveSecondsAndTheLastAttemptIsAtTheWindowsEnd) {
    using namespace std::chrono_literals;
    std::chrono::steady_clock::duration backoff = reconnect_backoff_first;
    std::chrono::steady_clock::duration elapsed{};
    const std::chrono::steady_clock::duration window = 20s;
    std::vector<std::chrono::milliseconds> attempts;
    for (;;) {
        const ReconnectStep step = reconnect_step(backoff, window - elapsed);
        if (step.give_up) break;
        elapsed += step.wait;
        backoff = step.next_backoff;
        attempts.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed));
    }
    EXPECT_EQ(attempts, (std::vector<std::chrono::milliseconds>{200ms, 600ms, 1400ms, 3000ms, 6200ms, 11200ms,
                                                                16200ms, 20000ms}));
}

TEST(ReconnectStep, AnOverWindowGivesUp) {
    using namespace std::chrono_literals;
    EXPECT_TRUE(reconnect_step(200ms, 0s).give_up);
    EXPECT_TRUE(reconnect_step(200ms, -1s).give_up);
    EXPECT_FALSE(reconnect_step(5s, 1ms).give_up);
    EXPECT_EQ(reconnect_step(5s, 5s).next_backoff, std::chrono::steady_clock::duration(5s));
}

// An attempt that hangs (a host that takes the TCP connection and never
// answers) stretches the window by 5 s at most, not the connect timeout; a
// slow server at the window's end still has those 5 s to answer.
TEST(ReconnectAttempt, EndsWithTheWindowOrFiveSecondsAfterIt) {
    using namespace std::chrono_literals;
    EXPECT_EQ(reconnect_attempt_timeout(10000ms, 20s), 10000ms);
    EXPECT_EQ(reconnect_attempt_timeout(10000ms, 8500ms), 8500ms);
    EXPECT_EQ(reconnect_attempt_timeout(10000ms, 1800ms), reconnect_attempt_min);
    EXPECT_EQ(reconnect_attempt_timeout(10000ms, 0s), reconnect_attempt_min);
    EXPECT_EQ(reconnect_attempt_timeout(3000ms, 0s), 3000ms);
}

}  // namespace
}  // namespace voxfork::ws::detail
