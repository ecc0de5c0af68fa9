#include <gtest/gtest.h>

#include <vector>

#include "handed_ring.hpp"
#include "send_queue.hpp"

namespace voxfork::ws::detail {
namespace {

// A binary message that carries its number in bytes 4..7 (as a voxfork-v1
// frame carries its seq), so the tests can tell messages apart.
struct Message {
    std::uint32_t tag;
    std::vector<std::uint8_t> bytes;
};

Message frame(std::uint32_t tag, std::uint32_t seq) {
    Message m{tag, std::vector<std::uint8_t>(172, 0)};
    m.bytes[4] = static_cast<std::uint8_t>(seq >> 24);
    m.bytes[5] = static_cast<std::uint8_t>(seq >> 16);
    m.bytes[6] = static_cast<std::uint8_t>(seq >> 8);
    m.bytes[7] = static_cast<std::uint8_t>(seq);
    return m;
}

std::uint32_t seq_of(const BinarySlot& s) {
    return (std::uint32_t{s.bytes[4]} << 24) | (std::uint32_t{s.bytes[5]} << 16) | (std::uint32_t{s.bytes[6]} << 8) |
           s.bytes[7];
}

std::optional<std::uint32_t> push(SendQueue& q, const Message& m) {
    return q.push_binary(m.tag, m.bytes);
}

TEST(SendQueue, FullQueueDropsOldestBinaryAndReportsItsTag) {
    SendQueue q(4);
    for (std::uint32_t i = 0; i < 4; ++i) EXPECT_FALSE(push(q, frame(7, i)));
    auto dropped = push(q, frame(8, 4));
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, 7u);
    EXPECT_EQ(q.binary_size(), 4u);
    BinarySlot out;
    std::string text;
    std::vector<std::uint32_t> seqs;
    while (q.pop(out, text) == SendQueue::Kind::binary) seqs.push_back(seq_of(out));
    EXPECT_EQ(seqs, (std::vector<std::uint32_t>{1, 2, 3, 4}));
    EXPECT_TRUE(q.empty());
}

TEST(SendQueue, TextKeepsItsPlaceAmongBinaryAndIsNeverDropped) {
    SendQueue q(3);
    push(q, frame(1, 0));
    push(q, frame(1, 1));
    q.push_text("STOP");
    push(q, frame(1, 2));
    BinarySlot out;
    std::string text;
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::binary);
    EXPECT_EQ(seq_of(out), 0u);
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::binary);
    EXPECT_EQ(seq_of(out), 1u);
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::text);
    EXPECT_EQ(text, "STOP");
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::binary);
    EXPECT_EQ(seq_of(out), 2u);
    EXPECT_EQ(q.pop(out, text), SendQueue::Kind::none);
}

TEST(SendQueue, DroppingBinaryBeforeATextLetsTheTextGoFirst) {
    SendQueue q(2);
    q.push_text("START");
    push(q, frame(1, 0));
    q.push_text("PAUSE");
    // Overflow: frames 0 and 1 are dropped, PAUSE came after message 0 only.
    push(q, frame(1, 1));
    push(q, frame(1, 2));
    push(q, frame(1, 3));
    for (int i = 0; i < 100; ++i) q.push_text("C" + std::to_string(i));  // never dropped
    BinarySlot out;
    std::string text;
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::text);
    EXPECT_EQ(text, "START");
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::text);
    EXPECT_EQ(text, "PAUSE");
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::binary);
    EXPECT_EQ(seq_of(out), 2u);
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::binary);
    EXPECT_EQ(seq_of(out), 3u);
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(q.pop(out, text), SendQueue::Kind::text);
        EXPECT_EQ(text, "C" + std::to_string(i));
    }
    EXPECT_TRUE(q.empty());
}

TEST(SendQueue, MessageIsCopiedWhole) {
    SendQueue q(2);
    std::vector<std::uint8_t> bytes(max_queued_binary);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i);
    q.push_binary(3, bytes);
    BinarySlot out;
    std::string text;
    ASSERT_EQ(q.pop(out, text), SendQueue::Kind::binary);
    EXPECT_EQ(out.tag, 3u);
    EXPECT_EQ(std::vector<std::uint8_t>(out.message().begin(), out.message().end()), bytes);
}

// Memory follows what is queued: a connection whose server keeps up holds a
// few messages' bytes, a backed-up one grows to what waits and gives it back
// once drained.
TEST(SendQueue, BufferGrowsWithTheBacklogAndShrinksWhenDrained) {
    SendQueue q(4000);
    BinarySlot out;
    std::string text;
    for (std::uint32_t round = 0; round < 1000; ++round) {  // a healthy connection: a few frames each drain
        for (std::uint32_t i = 0; i < 4; ++i) push(q, frame(1, round * 4 + i));
        while (q.pop(out, text) != SendQueue::Kind::none) {
        }
    }
    EXPECT_LE(q.buffer_bytes(), 4096u);
    for (std::uint32_t i = 0; i < 3000; ++i) push(q, frame(2, i));  // a stalled server: 60 s of one channel
    EXPECT_GE(q.buffer_bytes(), 3000u * 172);
    std::uint32_t next = 0;
    bool ordered = true;
    while (q.pop(out, text) == SendQueue::Kind::binary) ordered = ordered && out.tag == 2 && seq_of(out) == next++;
    EXPECT_TRUE(ordered);
    EXPECT_EQ(next, 3000u);
    EXPECT_EQ(q.buffer_bytes(), 0u);
}

// Continuity: the copies of what was handed to a link, and which of them a
// loss gives back (those whose bytes the server's TCP never acknowledged).
TEST(HandedRing, GivesBackOnlyTheUnacknowledgedOldestFirst) {
    HandedRing ring;
    ring.reserve(1024);
    const std::vector<std::uint8_t> a(10, 1), b(10, 2), c(10, 3);
    ring.add(7, a, 16);  // bytes 0..16 of the link
    ring.add(7, b, 32);
    ring.add(8, c, 48);
    std::vector<std::pair<std::uint32_t, std::uint8_t>> back;
    ring.take_unacknowledged(20, [&](std::uint32_t tag, std::span<const std::uint8_t> m) { back.emplace_back(tag, m[0]); });
    EXPECT_EQ(back, (std::vector<std::pair<std::uint32_t, std::uint8_t>>{{7, 2}, {8, 3}}));
    back.clear();
    ring.take_unacknowledged(0, [&](std::uint32_t tag, std::span<const std::uint8_t> m) { back.emplace_back(tag, m[0]); });
    EXPECT_TRUE(back.empty()) << "forgotten once taken";
}

TEST(HandedRing, KeepsTheNewestThatFit) {
    HandedRing ring;
    ring.reserve(3 * (16 + 10));
    for (std::uint8_t i = 0; i < 10; ++i) ring.add(1, std::vector<std::uint8_t>(10, i), (i + 1) * 16u);
    std::vector<std::uint8_t> back;
    ring.take_unacknowledged(0, [&](std::uint32_t, std::span<const std::uint8_t> m) { back.push_back(m[0]); });
    EXPECT_EQ(back, (std::vector<std::uint8_t>{7, 8, 9}));
}

}  // namespace
}  // namespace voxfork::ws::detail
