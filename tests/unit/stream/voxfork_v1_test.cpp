// voxfork.v1 in the stream layer: its messages and frames, the ring its
// tees write into, and its side of a shared connection (channel gating,
// delivery counts, what a server STOP means).
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "voxfork_v1/connection.hpp"
#include "voxfork_v1/messages.hpp"

namespace voxfork::stream::voxfork_v1 {
namespace {

using nlohmann::json;

std::uint32_t seq_of(const Framing::Record& s) {
    const auto b = s.frame();
    return (std::uint32_t{b[4]} << 24) | (std::uint32_t{b[5]} << 16) | (std::uint32_t{b[6]} << 8) | b[7];
}

// Fields and their order as in docs/speech-server-protocol.md's examples: the text that goes out is
// these messages dumped as they are.
TEST(Messages, ShapesAndKeyOrderOfWireMd) {
    const CallInfo call{58, 1, "8F3B", "a84b@10.0.0.1", json::object(), "1000", "", "6777"};
    EXPECT_EQ(start(17, call, "caller", Codec::ulaw, {{"agent", "1001"}}).dump(),
              R"({"type":"START","channel":17,"call-guid":"8F3B","call-id":"a84b@10.0.0.1","leg":"caller",)"
              R"("codec":"PCMU","rate":8000,"metadata":{"agent":"1001"}})");
    EXPECT_EQ(pause(17, "hold").dump(), R"({"type":"PAUSE","channel":17,"reason":"hold"})");
    EXPECT_EQ(resume(17, Codec::alaw).dump(), R"({"type":"RESUME","channel":17,"codec":"PCMA"})");
    EXPECT_EQ(update(17, {{"agent", "1002"}}).dump(), R"({"type":"UPDATE","channel":17,"metadata":{"agent":"1002"}})");
    EXPECT_EQ(stop(17, "Call ended").dump(), R"({"type":"STOP","channel":17,"reason":"Call ended"})");
    EXPECT_EQ(dtmf(17, '*', 160).dump(), R"({"type":"DTMF","channel":17,"digit":"*","duration":160})");
}

TEST(MessageText, KeysKeepTheirOrderAndNothingThrows) {
    using nlohmann::ordered_json;
    EXPECT_EQ(detail::message_text(ordered_json{{"type", "X"}, {"zz", 1}, {"aa", 2}}), R"({"type":"X","zz":1,"aa":2})");
    // Invalid UTF-8 in a string is replaced, not thrown.
    EXPECT_EQ(detail::message_text(ordered_json{{"type", "STOP"}, {"reason", std::string("a\xff")}}),
              "{\"type\":\"STOP\",\"reason\":\"a\xEF\xBF\xBD\"}");
}

TEST(ServerStop, OnlyAWellFormedStopIsOne) {
    const auto stop = parse_server_stop(R"({"type":"STOP","channel":17,"reason":"bye"})");
    ASSERT_TRUE(stop);
    EXPECT_EQ(stop->channel, 17u);
    EXPECT_EQ(stop->reason, "bye");
    EXPECT_EQ(parse_server_stop(R"({"type":"STOP","channel":17,"reason":5})")->reason, "");
    for (const char* text : {"", "not json", "[1]", R"({"type":"STOP"})", R"({"type":"STOP","channel":"17"})",
                             R"({"type":"STOP","channel":-1})", R"({"type":"STOP","channel":4294967296})",
                             R"({"type":"STOP","channel":0})", R"({"type":"stop","channel":17})",
                             R"({"type":5,"channel":17})"}) {
        EXPECT_FALSE(parse_server_stop(text)) << text;
    }
}

TEST(Framing, TwelveByteBigEndianHeaderThenPayload) {
    const std::uint8_t payload[3] = {0xaa, 0xbb, 0xcc};
    const std::size_t size = Framing::size(0x01020304, 0x05060708, 0x090a0b0c, payload);
    ASSERT_EQ(size, 4u + 15u);  // the channel for the io thread, then the frame
    std::vector<std::uint8_t> record(size);
    Framing::encode(record, 0x01020304, 0x05060708, 0x090a0b0c, payload);
    const Framing::Record r = Framing::decode(record);
    ASSERT_EQ(r.frame().size(), 15u);
    const std::uint8_t want[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xaa, 0xbb, 0xcc};
    EXPECT_EQ(0, std::memcmp(r.frame().data(), want, 15));
    EXPECT_EQ(r.channel, 0x01020304u);
    const std::uint8_t big[max_payload + 1] = {};
    EXPECT_EQ(Framing::size(1, 0, 0, big), 0u);
}

// Each 20 ms frame takes its own bytes: a ring of 4 x (2 + 4 + 172) holds four.
TEST(FrameRing, FullRingRefusesNewFramesAndCountsThem) {
    Ring ring(4 * 178);
    const std::uint8_t payload[160] = {};
    for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.push(1, i, 0, payload));
    EXPECT_FALSE(ring.push(1, 4, 0, payload));
    const std::uint8_t big[max_payload + 1] = {};
    EXPECT_FALSE(ring.push(1, 5, 0, big));
    EXPECT_EQ(ring.take_dropped(), 2u);
    EXPECT_EQ(ring.take_dropped(), 0u);
    std::vector<std::uint32_t> seqs;
    ring.drain([&](const Framing::Record& s) { seqs.push_back(seq_of(s)); });
    EXPECT_EQ(seqs, (std::vector<std::uint32_t>{0, 1, 2, 3}));
    EXPECT_FALSE(ring.has_data());
    ring.close();
    EXPECT_FALSE(ring.push(1, 6, 0, payload));
}

// A frame the consumer does not take yet stays first in line, with all
// after it, and the next drain starts there.
TEST(FrameRing, AFrameNotTakenStaysFirstInLine) {
    Ring ring(4 * 178);
    const std::uint8_t payload[160] = {};
    for (std::uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(ring.push(1, i, 0, payload));
    std::vector<std::uint32_t> seqs;
    EXPECT_EQ(ring.drain_while([&](const Framing::Record& r) {
        if (seq_of(r) == 2) return false;
        seqs.push_back(seq_of(r));
        return true;
    }), 2u);
    EXPECT_TRUE(ring.has_data());
    EXPECT_TRUE(ring.push(1, 4, 0, payload));  // the two taken made room
    ring.drain([&](const Framing::Record& r) { seqs.push_back(seq_of(r)); });
    EXPECT_EQ(seqs, (std::vector<std::uint32_t>{0, 1, 2, 3, 4}));
}

// Records of mixed sizes never wrap: one that does not fit before the end
// starts again at the front, and every one comes out whole and in order.
TEST(FrameRing, RecordsThatReachTheEndStartAtTheFront) {
    Ring ring(1000);
    std::uint32_t pushed = 0, taken = 0;
    bool whole = true;
    for (int round = 0; round < 200; ++round) {
        for (int k = 0; k < 3; ++k) {
            std::vector<std::uint8_t> payload(1 + (pushed * 37) % max_payload, static_cast<std::uint8_t>(pushed));
            if (ring.push(7, pushed, 0, std::span<const std::uint8_t>(payload))) ++pushed;
        }
        ring.drain([&](const Framing::Record& r) {
            const std::size_t length = 1 + (taken * 37) % max_payload;
            whole = whole && r.channel == 7 && seq_of(r) == taken && r.frame().size() == header_size + length &&
                    r.frame()[header_size] == static_cast<std::uint8_t>(taken) &&
                    r.frame().back() == static_cast<std::uint8_t>(taken);
            ++taken;
        });
    }
    EXPECT_TRUE(whole);
    EXPECT_EQ(taken, pushed);
    EXPECT_GT(pushed, 300u);  // the ring went round many times
}

// A large ring keeps its records in its first pages while the consumer
// keeps up (nothing is given back and taken again, however often it goes
// round), spills a backlog into pages it gives back once they are read, and
// returns to its first pages after.
TEST(FrameRing, ALargeRingKeepsOnlyWhatWaitsInMemory) {
    Ring ring(64 * 1024);
    std::uint32_t pushed = 0, taken = 0;
    bool whole = true;
    std::uint8_t payload[160];
    const auto drain = [&] {
        ring.drain([&](const Framing::Record& r) {
            whole = whole && seq_of(r) == taken && r.frame()[header_size] == static_cast<std::uint8_t>(taken | 1);
            ++taken;
        });
    };
    for (int round = 0; round < 3000; ++round) {  // ~1.6 MB through the ring: 25 times round
        for (int k = 0; k < 3; ++k) {
            std::memset(payload, static_cast<std::uint8_t>(pushed | 1), sizeof payload);
            ASSERT_TRUE(ring.push(1, pushed++, 0, payload));
        }
        drain();
    }
    EXPECT_TRUE(whole);
    EXPECT_LE(ring.resident_bytes(), 8u * 1024);  // the first ring: an eighth
    EXPECT_EQ(ring.releases(), 0u);

    // A stall: the ring still holds all it was sized for, then gives it back.
    std::uint32_t held = 0;
    for (;; ++pushed, ++held) {
        std::memset(payload, static_cast<std::uint8_t>(pushed | 1), sizeof payload);
        if (!ring.push(1, pushed, 0, payload)) break;
    }
    EXPECT_GE(held, 64u * 1024 / 178);
    EXPECT_GE(ring.resident_bytes(), 64u * 1024);
    drain();
    EXPECT_EQ(taken, pushed);
    EXPECT_LE(ring.resident_bytes(), 16u * 1024);
    EXPECT_GT(ring.releases(), 0u);

    // Keeping up again, the records go through the first ring only.
    const std::uint64_t releases = ring.releases();
    for (int round = 0; round < 1000; ++round) {
        for (int k = 0; k < 3; ++k) {
            std::memset(payload, static_cast<std::uint8_t>(pushed | 1), sizeof payload);
            ASSERT_TRUE(ring.push(1, pushed++, 0, payload));
        }
        drain();
    }
    EXPECT_TRUE(whole);
    EXPECT_EQ(taken, pushed);
    EXPECT_LE(ring.releases(), releases + 1);  // the last of the backlog's pages, at most
}

// Payloads are checked byte by byte: a page given back while the producer
// wrote into it would read as zeros. With `pauses`, the consumer stops now
// and then for a moment, so a large ring spills and returns many times.
void one_producer_thread_one_consumer(std::size_t capacity, bool pauses = false) {
    Ring ring(capacity);
    constexpr std::uint32_t total = 200000;
    std::thread producer([&] {
        std::uint8_t payload[160];
        for (std::uint32_t i = 0; i < total;) {
            std::memset(payload, static_cast<std::uint8_t>(i | 1), sizeof payload);
            if (ring.push(9, i, i * 160, payload)) {
                ++i;
            } else {
                std::this_thread::yield();  // full: let the consumer run (2 cores, maybe busy)
            }
        }
    });
    std::uint32_t next = 0, drains = 0;
    bool ordered = true;
    while (next < total) {
        const std::size_t got = ring.drain([&](const Framing::Record& s) {
            const auto frame = s.frame();
            ordered = ordered && seq_of(s) == next && s.channel == 9 && frame.size() == 172 &&
                      frame[header_size] == static_cast<std::uint8_t>(next | 1) &&
                      frame.back() == static_cast<std::uint8_t>(next | 1);
            ++next;
        });
        if (got == 0) std::this_thread::yield();
        if (pauses && ++drains % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    producer.join();
    EXPECT_TRUE(ordered);
    EXPECT_EQ(next, total);
    if (pauses) {
        EXPECT_GT(ring.releases(), 0u);  // the spill was used, and read
    }
}

TEST(FrameRing, OneProducerThreadOneConsumerKeepOrder) {
    one_producer_thread_one_consumer(64 * 178);
}

TEST(FrameRing, OneProducerThreadOneConsumerKeepOrderWhilePagesGoBack) {
    one_producer_thread_one_consumer(128 * 178);
}

TEST(FrameRing, OneProducerThreadOneConsumerKeepOrderThroughSpills) {
    one_producer_thread_one_consumer(128 * 178, true);
}


// The pool's side of a connection as the handler sees it: what it was asked
// to send, in order. Like the pool, it drains the handler before a text.
class FakeOutput final : public ws::Output {
public:
    explicit FakeOutput(Connection& c) : connection(c) {}
    void send_binary(std::uint32_t tag, std::span<const std::uint8_t> message) override {
        sent.push_back("frame " + std::to_string(tag) + " seq " + std::to_string(seq(message)));
        connection.on_sent(tag, message.size());
    }
    void send_text(std::string text) override {
        refused += connection.drain(*this);
        const auto j = json::parse(text);
        sent.push_back(j["type"].get<std::string>() + " " + std::to_string(j["channel"].get<int>()) +
                       (j.contains("reason") ? " " + j["reason"].get<std::string>() : ""));
    }
    void close_when_sent() override { sent.push_back("close"); }
    void drop() override { sent.push_back("drop"); }
    static std::uint32_t seq(std::span<const std::uint8_t> m) {
        return (std::uint32_t{m[4]} << 24) | (std::uint32_t{m[5]} << 16) | (std::uint32_t{m[6]} << 8) | m[7];
    }
    std::vector<std::string> take() { return std::exchange(sent, {}); }

    Connection& connection;
    std::vector<std::string> sent;
    std::uint64_t refused = 0;  // as the pool counts them
};

class ConnectionTest : public ::testing::Test {
protected:
    ConnectionTest() : out_(conn_) {
        conn_.on_open(out_);
        // As a session does, the told call leaves the connection.
        conn_.add_call(1, {17, 18}, [this](const std::string& words) {
            ended_.push_back("call 1: " + words);
            conn_.remove_call(1);
        });
        conn_.add_call(2, {19, 20}, [this](const std::string& words) {
            ended_.push_back("call 2: " + words);
            conn_.remove_call(2);
        });
    }
    void frame(std::uint32_t channel, std::uint32_t seq) {
        const std::uint8_t payload[160] = {};
        ASSERT_TRUE(conn_.ring()->push(channel, seq, seq * 160, payload));
    }
    void server(const std::string& text) { conn_.on_text(text); }

    Connection conn_{64 * 178, 0};
    FakeOutput out_;
    std::vector<std::string> ended_;
};

TEST_F(ConnectionTest, ControlGoesOutAfterTheAudioQueuedBeforeItAndGatesItsChannel) {
    frame(17, 0);
    conn_.send(17, Connection::Gate::close, pause(17, "hold"));
    frame(17, 1);  // paused: withheld
    frame(18, 0);
    conn_.drain(out_);
    conn_.send(17, Connection::Gate::open, resume(17, Codec::ulaw));
    frame(17, 2);
    conn_.drain(out_);
    EXPECT_EQ(out_.take(), (std::vector<std::string>{"frame 17 seq 0", "PAUSE 17 hold", "frame 18 seq 0",
                                                     "RESUME 17", "frame 17 seq 2"}));
    EXPECT_EQ(conn_.delivery(17).frames_sent, 2u);
    EXPECT_EQ(conn_.delivery(17).bytes_sent, 2u * 172);
}

TEST_F(ConnectionTest, NothingGoesOutForAStoppedChannel) {
    conn_.send(17, Connection::Gate::stop, stop(17, "Forking stopped"));
    frame(17, 0);
    conn_.send(17, Connection::Gate::keep, dtmf(17, '1', 160));
    conn_.drain(out_);
    EXPECT_EQ(out_.take(), (std::vector<std::string>{"STOP 17 Forking stopped"}));
}

TEST_F(ConnectionTest, FramesOfACallThatLeftAreDiscarded) {
    frame(17, 0);
    frame(19, 0);
    conn_.remove_call(1);
    conn_.drain(out_);
    EXPECT_EQ(out_.take(), (std::vector<std::string>{"frame 19 seq 0"}));
}

TEST_F(ConnectionTest, FramesTheRingRefusedAreReportedOnceToThePool) {
    Connection small{2 * 178, 0};  // room for two 20 ms frames
    FakeOutput out(small);
    small.on_open(out);
    small.add_call(1, {17, 18}, [](const std::string&) {});
    const std::uint8_t payload[160] = {};
    for (std::uint32_t seq = 0; seq < 3; ++seq) small.ring()->push(std::uint32_t{17}, seq, seq * 160, std::span(payload));
    small.send(17, Connection::Gate::keep, dtmf(17, '1', 160));  // moves the audio out first
    EXPECT_EQ(out.refused, 1u);
    EXPECT_EQ(small.drain(out), 0u);
}

TEST_F(ConnectionTest, DroppedFramesAreCountedForTheirChannel) {
    conn_.on_dropped(18);
    conn_.on_dropped(18);
    EXPECT_EQ(conn_.delivery(18).frames_dropped, 2u);
    EXPECT_EQ(conn_.delivery(17).frames_dropped, 0u);
}

TEST_F(ConnectionTest, ServerStoppingBothChannelsEndsTheCallAtOnceWithNoStopBack) {
    server(R"({"type":"STOP","channel":18,"reason":"done"})");
    EXPECT_TRUE(ended_.empty());  // its pair may follow
    server(R"({"type":"STOP","channel":17,"reason":"done"})");
    EXPECT_EQ(ended_, (std::vector<std::string>{"call 1: done"}));
    EXPECT_TRUE(out_.take().empty());
}

TEST_F(ConnectionTest, ALoneServerStopWaitsItsGraceThenTheOtherChannelGetsStop) {
    // The connection stamps the STOP with its own clock somewhere between
    // these two readings; a loaded machine can put milliseconds between them.
    const auto before_read = Clock::now();
    server(R"({"type":"STOP","channel":19,"reason":"enough"})");
    const auto after_read = Clock::now();
    conn_.on_tick(before_read + server_stop_grace / 2);
    EXPECT_TRUE(ended_.empty());
    frame(19, 0);  // stopped by the server: never sent
    frame(20, 0);
    conn_.on_tick(after_read + server_stop_grace + std::chrono::milliseconds(1));
    EXPECT_EQ(ended_, (std::vector<std::string>{"call 2: enough"}));
    EXPECT_EQ(out_.take(), (std::vector<std::string>{"frame 20 seq 0", "STOP 20 Stopped by server"}));
}

TEST_F(ConnectionTest, StopsForUnknownOrStoppedChannelsAndOtherTextAreIgnored) {
    server(R"({"type":"STOP","channel":99})");
    server(R"({"type":"HELLO"})");
    server("garbage");
    conn_.send(17, Connection::Gate::stop, stop(17, "Forking stopped"));
    server(R"({"type":"STOP","channel":17})");
    conn_.on_tick(Clock::now() + std::chrono::seconds(1));
    EXPECT_TRUE(ended_.empty());
}

TEST_F(ConnectionTest, ABinaryFrameFromTheServerIsAProtocolError) {
    const std::uint8_t bytes[4] = {};
    EXPECT_FALSE(conn_.on_binary(bytes));
}

TEST_F(ConnectionTest, AfterCloseTheRingRefusesAndNothingIsSent) {
    conn_.on_closed();
    const std::uint8_t payload[160] = {};
    EXPECT_FALSE(conn_.ring()->push(std::uint32_t{17}, std::uint32_t{0}, std::uint32_t{0},
                                    std::span<const std::uint8_t>(payload)));
    conn_.send(17, Connection::Gate::keep, update(17, json::object()));
    EXPECT_TRUE(out_.take().empty());
}

}  // namespace
}  // namespace voxfork::stream::voxfork_v1
