// Taps: the fields and payload they see, and the detach guarantee.
#include <ctime>
#include <mutex>

#include "relay_fixture.hpp"

namespace voxfork::media::test {
namespace {

using namespace std::chrono_literals;

std::int64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Seen {
    Direction direction;
    std::uint16_t sequence;
    std::uint32_t timestamp;
    std::uint32_t ssrc;
    std::uint8_t payload_type;
    bool marker;
    Bytes payload;
    std::int64_t arrival_ns;
};

// Records what it sees (allocation is fine in a test sink).
class RecordingSink : public TapSink {
public:
    void on_rtp(Direction direction, const RtpPacket& p) noexcept override {
        std::lock_guard lock(mutex_);
        seen_.push_back(Seen{direction, p.sequence, p.timestamp, p.ssrc, p.payload_type, p.marker,
                             Bytes(p.payload.begin(), p.payload.end()), p.arrival_ns});
    }
    std::vector<Seen> seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<Seen> seen_;
};

TEST_F(RelayTest, TapSeesHeaderFieldsAndPayloadOfItsDirection) {
    UdpPeer caller, callee;
    const Call call = connect(caller, callee);
    RecordingSink caller_sink, callee_sink;
    relay->set_tap(call.id, Direction::caller, &caller_sink);
    relay->set_tap(call.id, Direction::callee, &callee_sink);

    RtpFields f;
    f.sequence = 4242;
    f.timestamp = 123456;
    f.ssrc = 0xdeadbeef;
    f.payload_type = 8;
    f.marker = true;
    f.csrc_count = 2;
    f.with_extension = true;
    f.extension_words = 1;
    f.padding = 4;
    const Bytes payload = payload_of(77);
    const Bytes packet = rtp_packet(f, payload);
    const std::int64_t before = monotonic_ns();
    caller.send_to(call.port_a, packet);
    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, packet);  // forwarded untouched, header extension and padding included
    ASSERT_TRUE(eventually([&] { return caller_sink.seen().size() == 1; }));
    const std::int64_t after = monotonic_ns();

    const Seen s = caller_sink.seen().front();
    EXPECT_EQ(s.direction, Direction::caller);
    EXPECT_EQ(s.sequence, 4242);
    EXPECT_EQ(s.timestamp, 123456u);
    EXPECT_EQ(s.ssrc, 0xdeadbeefu);
    EXPECT_EQ(s.payload_type, 8);
    EXPECT_TRUE(s.marker);
    EXPECT_EQ(s.payload, payload);
    EXPECT_GE(s.arrival_ns, before);
    EXPECT_LE(s.arrival_ns, after);
    EXPECT_TRUE(callee_sink.seen().empty());

    RtpFields g;
    g.sequence = 7;
    callee.send_to(call.port_b, rtp_packet(g, payload_of(5, 80)));
    ASSERT_TRUE(eventually([&] { return callee_sink.seen().size() == 1; }));
    EXPECT_EQ(callee_sink.seen().front().direction, Direction::callee);
    EXPECT_EQ(callee_sink.seen().front().sequence, 7);
    EXPECT_EQ(callee_sink.seen().front().payload, payload_of(5, 80));
    EXPECT_EQ(caller_sink.seen().size(), 1u);
    relay->set_tap(call.id, Direction::caller, nullptr);
    relay->set_tap(call.id, Direction::callee, nullptr);
}

TEST_F(RelayTest, TapIgnoresRtcpAndDroppedPackets) {
    UdpPeer caller, callee, caller_rtcp, callee_rtcp;
    UdpPeer stranger(loopback(2));
    const Call call = connect(caller, callee, &caller_rtcp, &callee_rtcp);
    RecordingSink sink;
    relay->set_tap(call.id, Direction::caller, &sink);
    const Bytes muxed_rr{0x80, 201, 0, 1, 1, 2, 3, 4};
    caller.send_to(call.port_a, muxed_rr);  // RTCP multiplexed on the RTP port: relayed, not tapped
    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, muxed_rr);
    caller_rtcp.send_to(static_cast<std::uint16_t>(call.port_a + 1), muxed_rr);
    ASSERT_TRUE(callee_rtcp.receive().has_value());
    stranger.send_to(call.port_a, rtp_packet({}, payload_of(1)));
    caller.send_to(call.port_a, Bytes{0x80, 0, 1});
    EXPECT_TRUE(eventually([&] {
        return value(caller_counters().dropped_malformed) == 1 &&
               value(caller_counters().dropped_unexpected_source) == 1;
    }));
    caller.send_to(call.port_a, rtp_packet({}, payload_of(2)));  // the one packet the tap sees
    ASSERT_TRUE(callee.receive().has_value());
    ASSERT_TRUE(eventually([&] { return !sink.seen().empty(); }));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(sink.seen().size(), 1u);
    relay->set_tap(call.id, Direction::caller, nullptr);
}

// Stays inside on_rtp for a while and flags any call that starts after its
// owner was told the detach is complete.
class SlowSink : public TapSink {
public:
    void on_rtp(Direction, const RtpPacket&) noexcept override {
        if (detached.load()) late_calls.fetch_add(1);
        calls.fetch_add(1);
        const auto until = std::chrono::steady_clock::now() + 100us;
        while (std::chrono::steady_clock::now() < until) {
        }
        if (detached.load()) late_calls.fetch_add(1);  // still running after detach returned
    }
    std::atomic<bool> detached{false};
    std::atomic<int> calls{0};
    std::atomic<int> late_calls{0};
};

// Sends RTP to a port as fast as a plain loop can, until destroyed.
class Flood {
public:
    Flood(const UdpPeer& from, std::uint16_t port)
        : thread_([this, &from, port] {
              const Bytes packet = rtp_packet({}, payload_of(1));
              while (!stop_.load()) {
                  from.send_to(port, packet);
                  std::this_thread::sleep_for(20us);
              }
          }) {}
    ~Flood() {
        stop_.store(true);
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST_F(RelayTest, AfterDetachReturnsTheOldSinkIsNeverCalled) {
    UdpPeer caller, callee;
    const Call call = connect(caller, callee);
    SlowSink sink;
    Flood flood(caller, call.port_a);
    for (int round = 0; round < 100; ++round) {
        sink.detached.store(false);
        const int calls_before = sink.calls.load();
        relay->set_tap(call.id, Direction::caller, &sink);
        ASSERT_TRUE(eventually([&] { return sink.calls.load() > calls_before; }));
        relay->set_tap(call.id, Direction::caller, nullptr);
        sink.detached.store(true);
        std::this_thread::sleep_for(1ms);  // packets keep flowing
    }
    EXPECT_EQ(sink.late_calls.load(), 0);
}

TEST_F(RelayTest, AfterReleaseReturnsTheTapIsNeverCalled) {
    UdpPeer caller, callee;
    for (int round = 0; round < 30; ++round) {
        const Call call = connect(caller, callee);
        auto sink = std::make_unique<SlowSink>();  // freed right after release: ASan sees any late use
        Flood flood(caller, call.port_a);
        relay->set_tap(call.id, Direction::caller, sink.get());
        ASSERT_TRUE(eventually([&] { return sink->calls.load() > 0; }));
        relay->release(call.id);
        sink->detached.store(true);
        std::this_thread::sleep_for(1ms);
        EXPECT_EQ(sink->late_calls.load(), 0);
        sink.reset();
    }
}

TEST_F(RelayTest, ReplacingATapRetiresTheOldOne) {
    UdpPeer caller, callee;
    const Call call = connect(caller, callee);
    SlowSink first;
    RecordingSink second;
    Flood flood(caller, call.port_a);
    relay->set_tap(call.id, Direction::caller, &first);
    ASSERT_TRUE(eventually([&] { return first.calls.load() > 0; }));
    relay->set_tap(call.id, Direction::caller, &second);
    first.detached.store(true);
    ASSERT_TRUE(eventually([&] { return !second.seen().empty(); }));
    EXPECT_EQ(first.late_calls.load(), 0);
    relay->set_tap(call.id, Direction::caller, nullptr);
}

}  // namespace
}  // namespace voxfork::media::test
