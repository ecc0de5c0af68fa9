// The tee fed with synthetic RTP: seq, position (docs/speech-server-protocol.md), DTMF, gating.
#include <gtest/gtest.h>

#include <array>
#include <atomic>

#include "fakes.hpp"
#include "tee.hpp"

namespace voxfork::fork {
namespace {

using media::Direction;
using testing::FakeSink;

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t start_ns = 5'000 * ms;

class TeeTest : public ::testing::Test {
protected:
    TeeTest() : tee_(setup(false), &totals_) {}

    Tee::Setup setup(bool paused) {
        Tee::Setup s;
        s.sink = &sink_;
        s.start_ns = start_ns;
        s.audio_pt[0] = 0;
        s.audio_pt[1] = 0;
        s.dtmf_pt[0] = 101;
        s.dtmf_pt[1] = 101;
        s.paused = paused;
        s.dtmf_queued = &dtmf_queued_;
        return s;
    }

    // One 20 ms PCMU packet; `n` is its index in the stream.
    void audio(Direction d, std::uint32_t ssrc, std::uint32_t n, std::int64_t arrival, std::uint8_t pt = 0,
               std::uint32_t ts0 = 1000) {
        media::RtpPacket p;
        p.sequence = static_cast<std::uint16_t>(n);
        p.timestamp = ts0 + n * 160;
        p.ssrc = ssrc;
        p.payload_type = pt;
        payload_.fill(static_cast<std::uint8_t>(n));
        p.payload = payload_;
        p.arrival_ns = arrival;
        tee_.on_rtp(d, p);
    }

    void event(Direction d, std::uint8_t code, bool end, std::uint16_t duration, std::uint32_t ts,
               std::uint32_t ssrc = 7) {
        std::array<std::uint8_t, 4> body{code, static_cast<std::uint8_t>((end ? 0x80 : 0) | 10),
                                         static_cast<std::uint8_t>(duration >> 8),
                                         static_cast<std::uint8_t>(duration & 0xff)};
        media::RtpPacket p;
        p.timestamp = ts;
        p.ssrc = ssrc;
        p.payload_type = 101;
        p.payload = body;
        p.arrival_ns = start_ns;
        tee_.on_rtp(d, p);
    }

    std::vector<DtmfEvent> dtmf() {
        std::vector<DtmfEvent> out;
        DtmfEvent e;
        while (tee_.pop_dtmf(e)) out.push_back(e);
        return out;
    }

    FakeSink sink_;
    DataplaneCounters totals_;
    std::atomic<std::uint64_t> dtmf_queued_{0};  // what Controller::poll watches
    Tee tee_;
    std::array<std::uint8_t, 160> payload_{};
};

TEST_F(TeeTest, FirstFramePositionIsTimeSinceStartThenTimestampDeltas) {
    // Arrives 100 ms after START: 800 samples.
    for (std::uint32_t n = 0; n < 3; ++n) audio(Direction::caller, 7, n, start_ns + 100 * ms + n * 20 * ms);
    ASSERT_EQ(sink_.frames.size(), 3u);
    EXPECT_EQ(sink_.frames[0].direction, Direction::caller);
    EXPECT_EQ(sink_.frames[0].seq, 0u);
    EXPECT_EQ(sink_.frames[0].position, 800u);
    EXPECT_EQ(sink_.frames[1].seq, 1u);
    EXPECT_EQ(sink_.frames[1].position, 960u);
    EXPECT_EQ(sink_.frames[2].position, 1120u);
    EXPECT_EQ(sink_.frames[2].payload, std::vector<std::uint8_t>(160, 2));
}

TEST_F(TeeTest, PositionFollowsTheRtpClockNotArrivalJitter) {
    audio(Direction::caller, 7, 0, start_ns);
    audio(Direction::caller, 7, 1, start_ns + 45 * ms);  // late, but 160 samples on
    audio(Direction::caller, 7, 2, start_ns + 46 * ms);
    EXPECT_EQ(sink_.frames[1].position, 160u);
    EXPECT_EQ(sink_.frames[2].position, 320u);
}

TEST_F(TeeTest, LostPacketShowsAsA320Step) {
    audio(Direction::callee, 9, 0, start_ns);
    audio(Direction::callee, 9, 1, start_ns + 20 * ms);
    audio(Direction::callee, 9, 3, start_ns + 60 * ms);  // 2 lost
    ASSERT_EQ(sink_.frames.size(), 3u);
    EXPECT_EQ(sink_.frames[2].direction, Direction::callee);
    EXPECT_EQ(sink_.frames[2].seq, 2u);  // seq counts frames, not RTP packets
    EXPECT_EQ(sink_.frames[2].position - sink_.frames[1].position, 320u);
}

TEST_F(TeeTest, TimestampWrapIsModulo2To32) {
    audio(Direction::caller, 7, 0, start_ns, 0, 0xFFFFFF00u);
    audio(Direction::caller, 7, 1, start_ns + 20 * ms, 0, 0xFFFFFF00u);
    audio(Direction::caller, 7, 2, start_ns + 40 * ms, 0, 0xFFFFFF00u);
    EXPECT_EQ(sink_.frames[1].position, 160u);
    EXPECT_EQ(sink_.frames[2].position, 320u);
}

TEST_F(TeeTest, SsrcChangeRebasesOnTheReceiveClock) {
    audio(Direction::caller, 7, 0, start_ns);
    audio(Direction::caller, 7, 1, start_ns + 20 * ms);
    // A new source with an unrelated timestamp, 1 s after START.
    audio(Direction::caller, 8, 0, start_ns + 1000 * ms, 0, 555555);
    audio(Direction::caller, 8, 1, start_ns + 1020 * ms, 0, 555555);
    ASSERT_EQ(sink_.frames.size(), 4u);
    EXPECT_EQ(sink_.frames[2].seq, 2u);
    EXPECT_EQ(sink_.frames[2].position, 8000u);
    EXPECT_EQ(sink_.frames[3].position, 8160u);
}

TEST_F(TeeTest, PausedSendsNothingAndResumeShowsTheGap) {
    audio(Direction::caller, 7, 0, start_ns);
    tee_.pause();
    for (std::uint32_t n = 1; n < 50; ++n) audio(Direction::caller, 7, n, start_ns + n * 20 * ms);
    EXPECT_EQ(sink_.frames.size(), 1u);
    tee_.resume();
    // 2 s after START the stream goes on; its timestamps jumped by less (sender muted).
    audio(Direction::caller, 7, 60, start_ns + 2000 * ms);
    audio(Direction::caller, 7, 61, start_ns + 2020 * ms);
    ASSERT_EQ(sink_.frames.size(), 3u);
    EXPECT_EQ(sink_.frames[1].seq, 1u);  // continuous: the server sees a pause, not a drop
    EXPECT_EQ(sink_.frames[1].position, 16000u);
    EXPECT_EQ(sink_.frames[2].position, 16160u);
}

TEST_F(TeeTest, StartingPausedSendsNothingUntilResumed) {
    Tee tee(setup(true), nullptr);
    media::RtpPacket p;
    p.payload = payload_;
    p.arrival_ns = start_ns + 40 * ms;
    tee.on_rtp(Direction::caller, p);
    EXPECT_TRUE(sink_.frames.empty());
    tee.resume();
    tee.on_rtp(Direction::caller, p);
    ASSERT_EQ(sink_.frames.size(), 1u);
    EXPECT_EQ(sink_.frames[0].seq, 0u);
    EXPECT_EQ(sink_.frames[0].position, 320u);
}

TEST_F(TeeTest, OnlyTheForksCodecIsAudio) {
    audio(Direction::caller, 7, 0, start_ns, 8);   // PCMA while the fork is PCMU
    audio(Direction::caller, 7, 1, start_ns, 13);  // comfort noise
    audio(Direction::caller, 7, 2, start_ns, 18);  // G.729
    audio(Direction::caller, 7, 3, start_ns, 96);
    EXPECT_TRUE(sink_.frames.empty());
    tee_.set_audio_pt(Direction::caller, 8);
    audio(Direction::caller, 7, 4, start_ns, 8);
    audio(Direction::caller, 7, 5, start_ns, 0);
    ASSERT_EQ(sink_.frames.size(), 1u);
    EXPECT_EQ(sink_.frames[0].seq, 0u);
}

// G.711 on a dynamic payload type, each direction on its own (each side
// sends with the types of the SDP it got).
TEST_F(TeeTest, AudioPayloadTypeIsPerDirection) {
    tee_.set_audio_pt(Direction::caller, 96);
    tee_.set_audio_pt(Direction::callee, 97);
    audio(Direction::caller, 7, 0, start_ns, 96);
    audio(Direction::caller, 7, 1, start_ns, 97);
    audio(Direction::callee, 8, 0, start_ns, 96);
    audio(Direction::callee, 8, 1, start_ns, 97);
    ASSERT_EQ(sink_.frames.size(), 2u);
    EXPECT_EQ(sink_.frames[0].direction, Direction::caller);
    EXPECT_EQ(sink_.frames[1].direction, Direction::callee);
}

TEST_F(TeeTest, ComfortNoiseIsSkippedEvenIfNamedAudio) {
    tee_.set_audio_pt(Direction::caller, comfort_noise_pt);
    audio(Direction::caller, 7, 0, start_ns, comfort_noise_pt);
    EXPECT_TRUE(sink_.frames.empty());
}

TEST_F(TeeTest, DropsAreCountedAndSeqStillAdvances) {
    audio(Direction::caller, 7, 0, start_ns);
    sink_.refuse = true;
    audio(Direction::caller, 7, 1, start_ns + 20 * ms);
    audio(Direction::caller, 7, 2, start_ns + 40 * ms);
    sink_.refuse = false;
    audio(Direction::caller, 7, 3, start_ns + 60 * ms);
    ASSERT_EQ(sink_.frames.size(), 2u);
    EXPECT_EQ(sink_.frames[1].seq, 3u);
    EXPECT_EQ(sink_.frames[1].position, 480u);
    const auto& c = tee_.counters(Direction::caller);
    EXPECT_EQ(c.frames.load(), 2u);
    EXPECT_EQ(c.bytes.load(), 2u * (160 + 12));
    EXPECT_EQ(c.dropped.load(), 2u);
    EXPECT_EQ(totals_.direction[0].frames.load(), 2u);
    EXPECT_EQ(totals_.direction[0].dropped.load(), 2u);
    EXPECT_EQ(totals_.direction[1].frames.load(), 0u);
    EXPECT_EQ(tee_.counters(Direction::callee).frames.load(), 0u);
}

TEST_F(TeeTest, ChannelsCountSeparately) {
    audio(Direction::caller, 7, 0, start_ns);
    audio(Direction::callee, 9, 0, start_ns);
    audio(Direction::caller, 7, 1, start_ns + 20 * ms);
    ASSERT_EQ(sink_.frames.size(), 3u);
    EXPECT_EQ(sink_.frames[1].direction, Direction::callee);
    EXPECT_EQ(sink_.frames[1].seq, 0u);
    EXPECT_EQ(sink_.frames[2].seq, 1u);
}

TEST_F(TeeTest, DtmfOncePerEventAtItsFirstEndPacket) {
    event(Direction::caller, 5, false, 160, 4000);
    event(Direction::caller, 5, false, 320, 4000);
    EXPECT_TRUE(dtmf().empty());
    event(Direction::caller, 5, true, 800, 4000);
    event(Direction::caller, 5, true, 800, 4000);
    event(Direction::caller, 5, true, 800, 4000);
    auto events = dtmf();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].direction, Direction::caller);
    EXPECT_EQ(events[0].digit, '5');
    EXPECT_EQ(events[0].duration, 800);
    // The same digit again is a new event (new timestamp).
    event(Direction::caller, 5, true, 480, 9000);
    events = dtmf();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].duration, 480);
    EXPECT_TRUE(sink_.frames.empty());  // events are not audio
}

TEST_F(TeeTest, DtmfDigitMap) {
    const std::string expected = "0123456789*#ABCD";
    for (std::uint8_t code = 0; code < 16; ++code) event(Direction::callee, code, true, 160, 100 + code * 1000u);
    event(Direction::callee, 16, true, 160, 99999);  // flash: not a digit
    const auto events = dtmf();
    ASSERT_EQ(events.size(), 16u);
    for (std::size_t i = 0; i < 16; ++i) {
        EXPECT_EQ(events[i].digit, expected[i]);
        EXPECT_EQ(events[i].direction, Direction::callee);
    }
}

TEST_F(TeeTest, DtmfIgnoredWhilePausedOrWithoutAnEventType) {
    tee_.pause();
    event(Direction::caller, 1, true, 160, 1000);
    tee_.resume();
    event(Direction::caller, 1, true, 160, 1000);  // its repeat after resume: still the same event
    EXPECT_TRUE(dtmf().empty());
    tee_.set_dtmf_pt(Direction::caller, -1);
    event(Direction::caller, 2, true, 160, 2000);
    EXPECT_TRUE(dtmf().empty());
}

TEST_F(TeeTest, ShortEventPayloadIgnored) {
    std::array<std::uint8_t, 2> body{5, 0x80};
    media::RtpPacket p;
    p.payload_type = 101;
    p.payload = body;
    tee_.on_rtp(Direction::caller, p);
    EXPECT_TRUE(dtmf().empty());
}

TEST_F(TeeTest, FullDtmfRingDropsAndCounts) {
    for (std::uint32_t i = 0; i < 70; ++i) event(Direction::caller, 1, true, 160, i * 1000);
    EXPECT_EQ(dtmf().size(), 64u);
    EXPECT_EQ(tee_.dtmf_lost(), 6u);
    EXPECT_EQ(dtmf_queued_.load(), 64u);  // the lost ones were never queued
}

// The control thread polls the rings only when this counter moved, so it
// must move for every queued event and for nothing else.
TEST_F(TeeTest, TheQueuedCounterMovesOncePerQueuedEvent) {
    event(Direction::caller, 5, false, 160, 4000);  // not the end yet
    EXPECT_EQ(dtmf_queued_.load(), 0u);
    event(Direction::caller, 5, true, 800, 4000);
    event(Direction::caller, 5, true, 800, 4000);  // the end packet repeated
    EXPECT_EQ(dtmf_queued_.load(), 1u);
    event(Direction::callee, 16, true, 160, 5000);  // not a digit
    EXPECT_EQ(dtmf_queued_.load(), 1u);
    tee_.pause();
    event(Direction::callee, 3, true, 160, 6000);  // paused: not sent
    tee_.resume();
    EXPECT_EQ(dtmf_queued_.load(), 1u);
    event(Direction::callee, 4, true, 160, 7000);
    EXPECT_EQ(dtmf_queued_.load(), 2u);
    EXPECT_EQ(dtmf().size(), 2u);
}

}  // namespace
}  // namespace voxfork::fork
