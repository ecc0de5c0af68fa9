// Continuity (docs/stream.md): the outage buffer, the handler's way out through
// it, and voxfork-v1's re-establishing of its channels after a reconnect.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "continuity.hpp"
#include "voxfork_v1/connection.hpp"

namespace voxfork::stream::detail {
namespace {

std::vector<std::uint8_t> message(std::uint8_t fill, std::size_t size = 4) {
    return std::vector<std::uint8_t>(size, fill);
}

std::vector<std::pair<std::uint32_t, std::uint8_t>> replay_all(OutageBuffer& b) {
    std::vector<std::pair<std::uint32_t, std::uint8_t>> out;
    b.replay(UINT64_MAX, [&](std::uint32_t tag, std::span<const std::uint8_t> m) { out.emplace_back(tag, m[0]); });
    return out;
}

TEST(OutageBuffer, ReplaysInTheOrderKeptAcrossStreams) {
    OutageBuffer b(1024);
    b.keep(1, message(10));
    b.keep(2, message(20));
    b.keep(1, message(11));
    b.keep(2, message(21));
    EXPECT_EQ(b.size(), 4u);
    EXPECT_EQ(replay_all(b), (std::vector<std::pair<std::uint32_t, std::uint8_t>>{{1, 10}, {2, 20}, {1, 11}, {2, 21}}));
    EXPECT_TRUE(b.empty());
}

TEST(OutageBuffer, AFullStreamDropsItsOldestOnlyAndSaysHowMany) {
    // Room for 3 records of 4 bytes in each stream (16-byte record header).
    OutageBuffer b(3 * 20);
    for (std::uint8_t i = 0; i < 3; ++i) EXPECT_EQ(b.keep(1, message(i)), 0u);
    EXPECT_EQ(b.keep(2, message(100)), 0u);
    EXPECT_EQ(b.keep(1, message(3)), 1u);
    EXPECT_EQ(b.keep(1, message(4)), 1u);
    EXPECT_EQ(replay_all(b), (std::vector<std::pair<std::uint32_t, std::uint8_t>>{{1, 2}, {2, 100}, {1, 3}, {1, 4}}));
}

TEST(OutageBuffer, RecordsWrapAroundTheRingIntact) {
    OutageBuffer b(50);  // 2 records of 7 bytes (23 each); the third wraps
    for (std::uint8_t i = 0; i < 20; ++i) b.keep(7, message(i, 7));
    std::vector<std::uint8_t> last;
    b.replay(UINT64_MAX, [&](std::uint32_t, std::span<const std::uint8_t> m) {
        EXPECT_EQ(m.size(), 7u);
        for (auto byte : m) EXPECT_EQ(byte, m[0]);
        last.push_back(m[0]);
    });
    EXPECT_EQ(last, (std::vector<std::uint8_t>{18, 19}));
}

TEST(OutageBuffer, AMessageLargerThanTheStreamIsDropped) {
    OutageBuffer b(10);
    EXPECT_EQ(b.keep(1, message(1, 20)), 1u);
    EXPECT_TRUE(b.empty());
}

TEST(OutageBuffer, ForgetTakesAStreamAway) {
    OutageBuffer b(1024);
    b.keep(1, message(1));
    b.keep(2, message(2));
    b.forget(1);
    EXPECT_EQ(replay_all(b), (std::vector<std::pair<std::uint32_t, std::uint8_t>>{{2, 2}}));
}

// How many `size`-byte messages a stream of `bytes` keeps before it drops.
std::size_t messages_kept(std::size_t bytes, std::size_t size) {
    OutageBuffer b(bytes);
    const std::vector<std::uint8_t> m(size, 0);
    std::size_t kept = 0;
    while (b.keep(1, m) == 0) ++kept;
    return kept;
}

TEST(Continuity, BufferHoldsTheWindowOfAudioPerChannel) {
    // A second is 50 frames, the buffer's record headers counted: voxfork-v1's
    // "last second before the loss" and its window's buffer hold all of it.
    EXPECT_EQ(messages_kept(Continuity::bytes_for(1, 12), 160 + 12), 50u);
    EXPECT_EQ(messages_kept(Continuity::bytes_for(2, 12), 160 + 12), 100u);
    EXPECT_EQ(messages_kept(Continuity::bytes_for(30, 0), 160), 1500u);
    // Two channels a message (raw interleaved, AudioHook stereo).
    EXPECT_EQ(messages_kept(Continuity::bytes_for(3, 0, 2), 320), 150u);
}

class CountingOutput final : public ws::Output {
public:
    void send_binary(std::uint32_t tag, std::span<const std::uint8_t> m) override { sent.emplace_back(tag, m[0]); }
    void send_text(std::string) override {}
    void close_when_sent() override {}
    void drop() override {}
    void replayed(std::uint64_t n) override { replayed_frames += n; }
    std::vector<std::pair<std::uint32_t, std::uint8_t>> sent;
    std::uint64_t replayed_frames = 0;
};

TEST(Continuity, KeepsWhileLostThenReplaysBeforeLiveAudio) {
    Continuity c(1, 0);
    CountingOutput out;
    c.send(&out, 1, message(1));
    c.lost();
    c.send(nullptr, 1, message(2));
    c.send(nullptr, 1, message(3));
    c.replay(out);  // still lost: nothing
    EXPECT_EQ(out.sent.size(), 1u);
    c.reconnected();
    c.send(&out, 1, message(4));  // live audio waits behind the kept
    c.replay(out);
    c.send(&out, 1, message(5));
    EXPECT_EQ(out.sent, (std::vector<std::pair<std::uint32_t, std::uint8_t>>{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}}));
    EXPECT_EQ(out.replayed_frames, 3u);
    EXPECT_FALSE(c.holding());
}

TEST(Continuity, ReplaysAtMostABatchPerDrain) {
    Continuity c(10, 0);
    CountingOutput out;
    c.lost();
    for (int i = 0; i < 250; ++i) c.send(nullptr, 1, message(static_cast<std::uint8_t>(i)));
    c.reconnected();
    c.replay(out);
    EXPECT_EQ(out.sent.size(), Continuity::replay_per_drain);
    c.replay(out);
    c.replay(out);
    EXPECT_EQ(out.sent.size(), 250u);
}

TEST(Continuity, OverflowDropsTheOldestAndCountsIt) {
    Continuity c(1, 0);  // 8000 bytes of audio a channel: 50 frames
    c.lost();
    for (int i = 0; i < 100; ++i) c.send(nullptr, 1, message(static_cast<std::uint8_t>(i), 160));
    EXPECT_EQ(c.take_dropped(), 50u);
    EXPECT_EQ(c.take_dropped(), 0u);
    CountingOutput out;
    c.reconnected();
    c.replay(out);
    ASSERT_EQ(out.sent.size(), 50u);
    EXPECT_EQ(out.sent.front().second, 50);
}

}  // namespace
}  // namespace voxfork::stream::detail

namespace voxfork::stream::voxfork_v1 {
namespace {

using nlohmann::json;

// The pool's side as the handler sees it; drains the handler before a text.
class Wire final : public ws::Output {
public:
    explicit Wire(Connection& c) : connection(c) {}
    void send_binary(std::uint32_t tag, std::span<const std::uint8_t> m) override {
        const std::uint32_t seq = (std::uint32_t{m[4]} << 24) | (std::uint32_t{m[5]} << 16) |
                                  (std::uint32_t{m[6]} << 8) | m[7];
        sent.push_back("frame " + std::to_string(tag) + " seq " + std::to_string(seq));
    }
    void send_text(std::string text) override {
        connection.drain(*this);
        const auto j = json::parse(text);
        sent.push_back(j["type"].get<std::string>() + " " + std::to_string(j["channel"].get<int>()) +
                       (j.value("resumed", false) ? " resumed" : "") +
                       (j.contains("codec") ? " " + j["codec"].get<std::string>() : ""));
    }
    void close_when_sent() override {}
    void drop() override {}
    Connection& connection;
    std::vector<std::string> sent;
};

TEST(V1Continuity, ReconnectStartsEveryChannelAgainAndReplaysTheLastSecondAndTheOutage) {
    Connection conn(64 * 178, 5);
    ASSERT_TRUE(conn.resumable());
    Wire wire(conn);
    conn.on_open(wire);
    const std::uint32_t channels[2] = {7, 8};
    conn.add_call(1, channels, [](const std::string&) {});
    CallInfo call;
    const std::uint8_t payload[160] = {};
    for (std::uint32_t ch : channels)
        conn.send(ch, Connection::Gate::open, start(ch, call, ch == 7 ? "caller" : "callee", Codec::ulaw, json::object()));
    conn.ring()->push(7u, 0u, 0u, std::span<const std::uint8_t>(payload));
    conn.drain(wire);
    conn.send(7, Connection::Gate::keep, resume(7, Codec::alaw));  // (no gate change: a codec to remember)
    wire.sent.clear();

    conn.on_interrupted();
    conn.ring()->push(7u, 1u, 160u, std::span<const std::uint8_t>(payload));
    conn.ring()->push(8u, 0u, 0u, std::span<const std::uint8_t>(payload));
    EXPECT_EQ(conn.keep(), 0u);
    EXPECT_TRUE(wire.sent.empty());

    conn.on_open(wire);  // back
    conn.ring()->push(7u, 2u, 320u, std::span<const std::uint8_t>(payload));
    conn.drain(wire);
    EXPECT_EQ(wire.sent, (std::vector<std::string>{"START 7 resumed PCMA", "START 8 resumed PCMU", "frame 7 seq 0",
                                                   "frame 7 seq 1", "frame 8 seq 0", "frame 7 seq 2"}));
}

// A server STOP still in its grace when the connection is lost stands: the
// call is told (once the pool drains) and is not re-established afterwards.
TEST(V1Continuity, AServerStopHeldInItsGraceAtTheLossEndsTheCall) {
    Connection conn(64 * 178, 5);
    Wire wire(conn);
    conn.on_open(wire);
    const std::uint32_t channels[2] = {7, 8};
    std::vector<std::string> ended;
    conn.add_call(1, channels, [&](const std::string& words) {
        ended.push_back(words);
        conn.remove_call(1);  // as the session does
    });
    CallInfo call;
    for (std::uint32_t ch : channels)
        conn.send(ch, Connection::Gate::open, start(ch, call, ch == 7 ? "caller" : "callee", Codec::ulaw, json::object()));
    conn.on_text(R"({"type": "STOP", "channel": 7, "reason": "enough"})");
    EXPECT_TRUE(ended.empty());  // the grace for channel 8's STOP
    wire.sent.clear();

    conn.on_interrupted();
    conn.keep();
    EXPECT_EQ(ended, (std::vector<std::string>{"enough"}));
    conn.on_open(wire);
    conn.drain(wire);
    EXPECT_TRUE(wire.sent.empty()) << wire.sent.front();
}

// Frames the lost connection never sent come back from the pool: one of the
// last second is in the replay already (no copy, not dropped), an older one
// (a queue backed up) goes before it.
TEST(V1Continuity, UnsentFramesAreReplayedOnceAndNotDropped) {
    Connection conn(64 * 178, 5);
    Wire wire(conn);
    conn.on_open(wire);
    const std::uint32_t channels[2] = {7, 8};
    conn.add_call(1, channels, [](const std::string&) {});
    CallInfo call;
    for (std::uint32_t ch : channels)
        conn.send(ch, Connection::Gate::open, start(ch, call, ch == 7 ? "caller" : "callee", Codec::ulaw, json::object()));
    const std::uint8_t payload[160] = {};
    for (std::uint32_t seq = 5; seq < 8; ++seq) conn.ring()->push(7u, seq, seq * 160, std::span<const std::uint8_t>(payload));
    conn.drain(wire);
    wire.sent.clear();
    // The pool gives back seq 4 (older than the last second kept) and seq 7.
    std::uint8_t old_frame[header_size + 160] = {0, 0, 0, 7, 0, 0, 0, 4};
    std::uint8_t recent[header_size + 160] = {0, 0, 0, 7, 0, 0, 0, 7};
    EXPECT_TRUE(conn.on_unsent(7, old_frame));
    EXPECT_TRUE(conn.on_unsent(7, recent));
    conn.on_interrupted();
    EXPECT_EQ(conn.keep(), 0u);
    conn.on_open(wire);
    conn.drain(wire);
    EXPECT_EQ(wire.sent, (std::vector<std::string>{"START 7 resumed PCMU", "START 8 resumed PCMU", "frame 7 seq 4",
                                                   "frame 7 seq 5", "frame 7 seq 6", "frame 7 seq 7"}));
}

TEST(V1Continuity, WithoutAWindowNothingIsKept) {
    Connection conn(64 * 178, 0);
    EXPECT_FALSE(conn.resumable());
}

}  // namespace
}  // namespace voxfork::stream::voxfork_v1
