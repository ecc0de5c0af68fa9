#include <gtest/gtest.h>

#include <thread>

#include "send_queue.hpp"

namespace voxfork::ws::detail {
namespace {

AudioSlot frame(std::uint32_t channel, std::uint32_t seq) {
    AudioSlot s;
    const std::uint8_t payload[160] = {};
    encode_frame(s, channel, seq, seq * 160, payload);
    return s;
}

std::uint32_t seq_of(const AudioSlot& s) {
    return (std::uint32_t{s.bytes[4]} << 24) | (std::uint32_t{s.bytes[5]} << 16) | (std::uint32_t{s.bytes[6]} << 8) |
           s.bytes[7];
}

TEST(EncodeFrame, TwelveByteBigEndianHeaderThenPayload) {
    AudioSlot s;
    const std::uint8_t payload[3] = {0xaa, 0xbb, 0xcc};
    encode_frame(s, 0x01020304, 0x05060708, 0x090a0b0c, payload);
    ASSERT_EQ(s.size, 15);
    const std::uint8_t want[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xaa, 0xbb, 0xcc};
    EXPECT_EQ(0, std::memcmp(s.bytes.data(), want, 15));
    EXPECT_EQ(s.channel, 0x01020304u);
}

TEST(SendQueue, FullQueueDropsOldestAudioAndReportsItsChannel) {
    SendQueue q(4);
    for (std::uint32_t i = 0; i < 4; ++i) EXPECT_FALSE(q.push_audio(frame(7, i)));
    auto dropped = q.push_audio(frame(8, 4));
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, 7u);
    EXPECT_EQ(q.audio_size(), 4u);
    AudioSlot out;
    std::string text;
    std::vector<std::uint32_t> seqs;
    while (q.pop(out, text) == SendQueue::Kind::audio) seqs.push_back(seq_of(out));
    EXPECT_EQ(seqs, (std::vector<std::uint32_t>{1, 2, 3, 4}));
    EXPECT_TRUE(q.empty());
}

TEST(SendQueue, ControlKeepsItsPlaceAmongAudioAndIsNeverDropped) {
    SendQueue q(3);
    q.push_audio(frame(1, 0));
    q.push_audio(frame(1, 1));
    q.push_control("STOP");
    q.push_audio(frame(1, 2));
    AudioSlot out;
    std::string text;
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::audio);
    EXPECT_EQ(seq_of(out), 0u);
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::audio);
    EXPECT_EQ(seq_of(out), 1u);
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::control);
    EXPECT_EQ(text, "STOP");
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::audio);
    EXPECT_EQ(seq_of(out), 2u);
    EXPECT_EQ(q.pop(out, text), SendQueue::Kind::none);
}

TEST(SendQueue, DroppingAudioBeforeAControlLetsTheControlGoFirst) {
    SendQueue q(2);
    q.push_control("START");
    q.push_audio(frame(1, 0));
    q.push_control("PAUSE");
    // Overflow: frames 0 and 1 are dropped, PAUSE came after frame 0 only.
    q.push_audio(frame(1, 1));
    q.push_audio(frame(1, 2));
    q.push_audio(frame(1, 3));
    for (int i = 0; i < 100; ++i) q.push_control("C" + std::to_string(i));  // never dropped
    AudioSlot out;
    std::string text;
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::control);
    EXPECT_EQ(text, "START");
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::control);
    EXPECT_EQ(text, "PAUSE");
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::audio);
    EXPECT_EQ(seq_of(out), 2u);
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::audio);
    EXPECT_EQ(seq_of(out), 3u);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(q.pop(out, text), SendQueue::Kind::control);
        EXPECT_EQ(text, "C" + std::to_string(i));
    }
    EXPECT_TRUE(q.empty());
}

TEST(AudioRing, FullRingRefusesNewFramesAndCountsThem) {
    AudioRing ring(3);  // rounded up to 4
    ASSERT_EQ(ring.capacity(), 4u);
    const std::uint8_t payload[160] = {};
    for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.send(1, i, 0, payload));
    EXPECT_FALSE(ring.send(1, 4, 0, payload));
    const std::uint8_t big[AudioSink::max_payload + 1] = {};
    EXPECT_FALSE(ring.send(1, 5, 0, big));
    EXPECT_EQ(ring.take_dropped(), 2u);
    EXPECT_EQ(ring.take_dropped(), 0u);
    std::vector<std::uint32_t> seqs;
    ring.drain([&](const AudioSlot& s) { seqs.push_back(seq_of(s)); });
    EXPECT_EQ(seqs, (std::vector<std::uint32_t>{0, 1, 2, 3}));
    EXPECT_FALSE(ring.has_data());
    ring.close();
    EXPECT_FALSE(ring.send(1, 6, 0, payload));
}

TEST(AudioRing, OneProducerThreadOneConsumerKeepOrder) {
    AudioRing ring(64);
    constexpr std::uint32_t total = 200000;
    std::thread producer([&] {
        const std::uint8_t payload[160] = {};
        for (std::uint32_t i = 0; i < total;) {
            if (ring.send(9, i, i * 160, payload)) {
                ++i;
            } else {
                std::this_thread::yield();  // full: let the consumer run (2 cores, maybe busy)
            }
        }
    });
    std::uint32_t next = 0;
    bool ordered = true;
    while (next < total) {
        const std::size_t got = ring.drain([&](const AudioSlot& s) {
            ordered = ordered && seq_of(s) == next && s.channel == 9 && s.size == 172;
            ++next;
        });
        if (got == 0) std::this_thread::yield();
    }
    producer.join();
    EXPECT_TRUE(ordered);
    EXPECT_EQ(next, total);
}

}  // namespace
}  // namespace voxfork::ws::detail
