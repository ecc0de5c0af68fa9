// Audio on the clock (the playout buffer AudioHook and raw share) and raw's
// side of a connection: 20 ms frames by position, silence fill, interleaving,
// pause and keepalive, the stop message and the close.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "paced_audio.hpp"
#include "raw/connection.hpp"

namespace voxfork::stream {
namespace {

using media::Direction;
using detail::PlayoutBuffer;

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t value) {
    return std::vector<std::uint8_t>(n, value);
}

std::vector<std::uint8_t> taken(PlayoutBuffer& b) {
    const auto f = b.take();
    return {f.begin(), f.end()};
}

TEST(PlayoutBuffer, OneDirectionByPositionWithSilenceWhereNothingCame) {
    PlayoutBuffer b(false);
    b.put(Direction::caller, 0, bytes(160, 1));
    b.put(Direction::caller, 320, bytes(160, 3));  // frame 1 never came
    EXPECT_EQ(taken(b), bytes(160, 1));
    EXPECT_EQ(taken(b), bytes(160, 0xff));
    EXPECT_EQ(taken(b), bytes(160, 3));
    EXPECT_EQ(taken(b), bytes(160, 0xff));
    // Every slot of the window was emptied again: a second round is silence.
    for (int i = 0; i < 100; ++i) EXPECT_EQ(taken(b), bytes(160, 0xff)) << i;
}

TEST(PlayoutBuffer, ALawSilenceFillsWhatNothingSent) {
    PlayoutBuffer b(true);
    b.set_silence(0xd5);
    b.put(Direction::caller, 0, bytes(160, 1));
    const auto frame = taken(b);
    for (int i = 0; i < 160; ++i) {
        EXPECT_EQ(frame[2 * i], 1) << i;
        EXPECT_EQ(frame[2 * i + 1], 0xd5) << i;
    }
    EXPECT_EQ(taken(b), bytes(320, 0xd5));
}

TEST(PlayoutBuffer, AudioAcrossTheEndOfTheWindowWrapsToItsStart) {
    PlayoutBuffer b(false, 1600);
    for (int i = 0; i < 9; ++i) taken(b);
    // The second half of frame 9 (the window's last slots), the first of frame 10 (its first).
    b.put(Direction::caller, 1520, bytes(160, 4));
    auto f9 = taken(b);
    EXPECT_EQ(std::vector<std::uint8_t>(f9.begin(), f9.begin() + 80), bytes(80, 0xff));
    EXPECT_EQ(std::vector<std::uint8_t>(f9.begin() + 80, f9.end()), bytes(80, 4));
    auto f10 = taken(b);
    EXPECT_EQ(std::vector<std::uint8_t>(f10.begin(), f10.begin() + 80), bytes(80, 4));
    EXPECT_EQ(std::vector<std::uint8_t>(f10.begin() + 80, f10.end()), bytes(80, 0xff));
    EXPECT_EQ(b.discarded(), 0u);
}

TEST(PlayoutBuffer, TwoDirectionsInterleaveSampleBySampleCallerFirst) {
    PlayoutBuffer b(true);
    std::vector<std::uint8_t> caller(160), callee(160);
    for (int i = 0; i < 160; ++i) {
        caller[i] = static_cast<std::uint8_t>(i);
        callee[i] = static_cast<std::uint8_t>(200 - i);
    }
    b.put(Direction::callee, 0, callee);
    b.put(Direction::caller, 0, caller);
    const auto frame = taken(b);
    ASSERT_EQ(frame.size(), 320u);
    for (int i = 0; i < 160; ++i) {
        EXPECT_EQ(frame[2 * i], caller[i]) << i;
        EXPECT_EQ(frame[2 * i + 1], callee[i]) << i;
    }
    // The callee alone in the next frame: the caller's half is silence.
    b.put(Direction::callee, 160, bytes(160, 7));
    const auto next = taken(b);
    EXPECT_EQ(next[0], 0xff);
    EXPECT_EQ(next[1], 7);
}

TEST(PlayoutBuffer, PayloadsNeedNotMatchFrames) {
    PlayoutBuffer b(false);
    b.put(Direction::caller, 80, bytes(240, 9));  // 30 ms from the middle of frame 0
    auto f0 = taken(b);
    EXPECT_EQ(std::vector<std::uint8_t>(f0.begin(), f0.begin() + 80), bytes(80, 0xff));
    EXPECT_EQ(std::vector<std::uint8_t>(f0.begin() + 80, f0.end()), bytes(80, 9));
    EXPECT_EQ(taken(b), bytes(160, 9));
}

TEST(PlayoutBuffer, LateAndFarAheadAudioIsDiscardedAndCounted) {
    PlayoutBuffer b(false, 1600);
    taken(b);
    b.put(Direction::caller, 0, bytes(160, 1));     // frame 0 went out already
    b.put(Direction::caller, 1760, bytes(160, 1));  // beyond the window
    EXPECT_EQ(b.discarded(), 320u);
    EXPECT_EQ(taken(b), bytes(160, 0xff));
}

TEST(PlayoutBuffer, SkippingAPauseDropsWhatItsFramesHeld) {
    PlayoutBuffer b(false);
    b.put(Direction::caller, 160, bytes(160, 5));
    b.skip_to(10);
    EXPECT_EQ(b.next_frame(), 10u);
    b.put(Direction::caller, 1600, bytes(160, 6));
    EXPECT_EQ(taken(b), bytes(160, 6));
    // The window wrapped onto frame 1's old slots: they were emptied.
    for (int i = 0; i < 100; ++i) EXPECT_EQ(taken(b), bytes(160, 0xff)) << i;
}

// The transport as raw's connection sees it.
class RecordingOutput final : public ws::Output {
public:
    explicit RecordingOutput(raw::Connection& c) : connection(c) {}
    void send_binary(std::uint32_t tag, std::span<const std::uint8_t> message) override {
        frames.emplace_back(message.begin(), message.end());
        connection.on_sent(tag, message.size());
    }
    void send_text(std::string text) override { texts.push_back(std::move(text)); }
    void close_when_sent() override { closed = true; }
    void drop() override { dropped = true; }

    raw::Connection& connection;
    std::vector<std::vector<std::uint8_t>> frames;
    std::vector<std::string> texts;
    bool closed = false;
    bool dropped = false;
};

class RawConnectionTest : public ::testing::Test {
protected:
    void make(bool both, std::string keepalive = {}) {
        raw::Connection::Settings s;
        s.both = both;
        s.direction = Direction::callee;
        s.keepalive_message = std::move(keepalive);
        conn_ = std::make_unique<raw::Connection>(s);
        out_ = std::make_unique<RecordingOutput>(*conn_);
        conn_->on_open(*out_);
    }
    void push(Direction d, std::uint32_t position, std::uint8_t value) {
        const auto payload = bytes(160, value);
        ASSERT_TRUE(conn_->ring()->push(d, position, std::span<const std::uint8_t>(payload)));
    }
    // One drain interval at `at` after the start, as the pool runs it.
    void tick(std::chrono::milliseconds at) {
        conn_->drain(*out_);
        conn_->on_tick(t0_ + at);
    }

    raw::Clock::time_point t0_ = raw::Clock::now();
    std::unique_ptr<raw::Connection> conn_;
    std::unique_ptr<RecordingOutput> out_;
};

TEST_F(RawConnectionTest, FramesGoOutOnTheClockAfterThePlayoutDelayThreeAtATime) {
    static_assert(detail::PacedAudio::frames_per_send == 3);
    make(false);
    conn_->start(t0_, Codec::ulaw);
    push(Direction::callee, 0, 1);
    push(Direction::callee, 160, 2);
    push(Direction::callee, 320, 3);
    tick(std::chrono::milliseconds(20));
    EXPECT_TRUE(out_->frames.empty());  // waits for late audio
    tick(std::chrono::milliseconds(20) + detail::PacedAudio::playout_delay);
    EXPECT_TRUE(out_->frames.empty());  // the first frame waits for the rest of its group
    tick(std::chrono::milliseconds(40) + detail::PacedAudio::playout_delay);
    EXPECT_TRUE(out_->frames.empty());
    tick(std::chrono::milliseconds(59) + detail::PacedAudio::playout_delay);
    EXPECT_TRUE(out_->frames.empty());
    tick(std::chrono::milliseconds(60) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), 3u);  // in one drain round: one send
    EXPECT_EQ(out_->frames[0], bytes(160, 1));
    EXPECT_EQ(out_->frames[1], bytes(160, 2));
    EXPECT_EQ(out_->frames[2], bytes(160, 3));
    // 60 ms later, three more frames: the clock, not the packets, paces them.
    tick(std::chrono::milliseconds(120) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), 6u);
    EXPECT_EQ(out_->frames[5], bytes(160, 0xff));
    EXPECT_EQ(conn_->delivery(Direction::callee).frames_sent, 6u);
    EXPECT_EQ(conn_->delivery(Direction::callee).bytes_sent, 960u);
    EXPECT_EQ(conn_->delivery(Direction::caller).frames_sent, 0u);
}

// A pause before a group is complete: the frames of it already due are
// sent, not lost with the pause.
TEST_F(RawConnectionTest, APauseSendsTheFramesDueBeforeTheirGroupIsComplete) {
    make(false);
    conn_->start(t0_, Codec::ulaw);
    push(Direction::callee, 0, 1);
    push(Direction::callee, 160, 2);
    push(Direction::callee, 320, 3);
    tick(std::chrono::milliseconds(45) + detail::PacedAudio::playout_delay);
    EXPECT_TRUE(out_->frames.empty());
    conn_->pause(t0_ + std::chrono::milliseconds(50) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), 2u);
    EXPECT_EQ(out_->frames[0], bytes(160, 1));
    EXPECT_EQ(out_->frames[1], bytes(160, 2));
    tick(std::chrono::milliseconds(100) + detail::PacedAudio::playout_delay);
    EXPECT_EQ(out_->frames.size(), 2u);  // nothing while paused
}

TEST_F(RawConnectionTest, InterleavedFramesCountForBothDirections) {
    make(true);
    conn_->start(t0_, Codec::alaw);
    push(Direction::caller, 0, 1);
    tick(std::chrono::milliseconds(60) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), 3u);
    EXPECT_EQ(out_->frames[0].size(), 320u);
    EXPECT_EQ(out_->frames[0][0], 1);
    EXPECT_EQ(out_->frames[0][1], 0xd5);  // the callee sent nothing: A-law silence
    EXPECT_EQ(conn_->delivery(Direction::caller).bytes_sent, 480u);
    EXPECT_EQ(conn_->delivery(Direction::callee).bytes_sent, 480u);
}

TEST_F(RawConnectionTest, PauseStopsTheAudioAndSendsTheKeepaliveEvery5s) {
    make(false, R"({"type":"keepalive"})");
    conn_->start(t0_, Codec::ulaw);
    conn_->pause(t0_);
    push(Direction::callee, 0, 1);
    tick(std::chrono::milliseconds(4999));
    EXPECT_TRUE(out_->texts.empty());
    tick(std::chrono::milliseconds(5000));
    tick(std::chrono::milliseconds(9000));
    tick(std::chrono::milliseconds(10000));
    EXPECT_EQ(out_->texts, (std::vector<std::string>{R"({"type":"keepalive"})", R"({"type":"keepalive"})"}));
    EXPECT_TRUE(out_->frames.empty());
    // Resumed at 12 s: the frames of the pause are never sent.
    conn_->resume(t0_ + std::chrono::milliseconds(12000), Codec::ulaw);
    push(Direction::callee, 12000 * 8, 4);
    tick(std::chrono::milliseconds(12060) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), 3u);
    EXPECT_EQ(out_->frames[0], bytes(160, 4));
}

TEST_F(RawConnectionTest, FinishSendsWhatArrivedThenTheStopMessageThenClosesOnce) {
    make(false);
    conn_->start(t0_, Codec::ulaw);
    push(Direction::callee, 0, 1);
    push(Direction::callee, 160, 2);
    conn_->finish(t0_ + std::chrono::milliseconds(30), R"({"type":"end"})");  // not waiting out the delay
    conn_->finish(t0_ + std::chrono::milliseconds(40), "again");
    ASSERT_EQ(out_->frames.size(), 2u);
    EXPECT_EQ(out_->frames[1], bytes(160, 2));
    EXPECT_EQ(out_->texts, (std::vector<std::string>{R"({"type":"end"})"}));
    EXPECT_TRUE(out_->closed);
    push(Direction::callee, 320, 3);
    tick(std::chrono::seconds(1));
    EXPECT_EQ(out_->frames.size(), 2u);  // nothing after the end
}

// The io thread stalled for 2 s: the ring holds 2 s of audio, five times
// the playout window. It goes through the window in slices, each sent
// before the next is placed: every frame, in order, nothing discarded.
TEST_F(RawConnectionTest, AStallOfTwoSecondsPassesThroughTheSmallerWindowWhole) {
    make(true);
    conn_->start(t0_, Codec::ulaw);
    constexpr std::uint32_t frames = 99;  // whole groups of a send
    static_assert(frames % detail::PacedAudio::frames_per_send == 0);
    static_assert(frames * 160 > 4 * detail::playout_window_samples);
    for (std::uint32_t i = 0; i < frames; ++i) {
        push(Direction::caller, i * 160, static_cast<std::uint8_t>(i + 1));
        push(Direction::callee, i * 160, static_cast<std::uint8_t>(200 - i));
    }
    tick(std::chrono::milliseconds(frames * 20) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), frames);
    for (std::uint32_t i = 0; i < frames; ++i) {
        ASSERT_EQ(out_->frames[i].size(), 320u);
        EXPECT_EQ(out_->frames[i][0], i + 1) << "frame " << i;
        EXPECT_EQ(out_->frames[i][319], 200 - i) << "frame " << i;
    }
    EXPECT_EQ(conn_->delivery(Direction::caller).bytes_sent, frames * 160);
}

// Audio far ahead of the clock (a timestamp jump) does not hold back what
// follows it in the ring: it is placed as far as the window reaches, and the
// audio of now goes out on time.
TEST_F(RawConnectionTest, AudioFarAheadOfTheClockDoesNotHoldBackTheAudioOfNow) {
    make(false);
    conn_->start(t0_, Codec::ulaw);
    push(Direction::callee, 10 * 8000, 9);  // 10 s ahead
    push(Direction::callee, 0, 1);
    tick(std::chrono::milliseconds(60) + detail::PacedAudio::playout_delay);
    ASSERT_EQ(out_->frames.size(), 3u);
    EXPECT_EQ(out_->frames[0], bytes(160, 1));
}

// Finishing after a stall sends all of it, in slices, before the stop message.
TEST_F(RawConnectionTest, FinishAfterAStallSendsEveryFrameThatWaited) {
    make(false);
    conn_->start(t0_, Codec::ulaw);
    for (std::uint32_t i = 0; i < 80; ++i) push(Direction::callee, i * 160, static_cast<std::uint8_t>(i + 1));
    conn_->finish(t0_ + std::chrono::milliseconds(80 * 20), R"({"type":"end"})");
    ASSERT_EQ(out_->frames.size(), 81u);  // and the one under way, silence
    for (std::uint32_t i = 0; i < 80; ++i) EXPECT_EQ(out_->frames[i], bytes(160, static_cast<std::uint8_t>(i + 1)));
    EXPECT_EQ(out_->texts, (std::vector<std::string>{R"({"type":"end"})"}));
}

TEST_F(RawConnectionTest, ServerTextIsCountedAndKeptAndBinaryIsIgnored) {
    make(false);
    conn_->on_text(R"({"transcript":"hello"})");
    conn_->on_text(R"({"transcript":"hello world"})");
    const std::uint8_t b[3] = {};
    EXPECT_TRUE(conn_->on_binary(b));  // not a protocol error
    EXPECT_EQ(conn_->server_texts(), 2u);
    EXPECT_EQ(conn_->server_binaries(), 1u);
    EXPECT_EQ(conn_->latest_text(), R"({"transcript":"hello world"})");
}

TEST_F(RawConnectionTest, AfterCloseTheRingRefuses) {
    make(false);
    conn_->on_closed();
    const auto payload = bytes(160, 1);
    EXPECT_FALSE(conn_->ring()->push(Direction::callee, std::uint32_t{0}, std::span<const std::uint8_t>(payload)));
}

}  // namespace
}  // namespace voxfork::stream
