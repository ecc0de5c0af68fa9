// The packet path must not allocate: count operator new calls while the tee
// handles audio, DTMF and skipped packets.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "tee.hpp"
#include "voxfork/fork.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<int> allocations{0};
}  // namespace

// The replacements pair malloc with free; GCC cannot see they are a pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace voxfork::fork {
namespace {

// A sink that keeps nothing, so any allocation counted is the tee's.
class CountingSink : public stream::AudioSink {
public:
    std::size_t send(media::Direction, std::uint32_t, std::uint32_t,
                     std::span<const std::uint8_t> payload) noexcept override {
        ++frames;
        return payload.size();
    }
    int frames = 0;
};

TEST(TeeAllocation, NoAllocationPerPacket) {
    CountingSink sink;
    DataplaneCounters totals;
    Tee::Setup setup;
    setup.sink = &sink;
    setup.dtmf_pt[0] = setup.dtmf_pt[1] = 101;
    Tee tee(setup, &totals);
    std::array<std::uint8_t, 160> audio{};
    std::array<std::uint8_t, 4> dtmf{1, 0x80, 0, 160};
    media::RtpPacket p;

    counting = true;
    for (std::uint32_t i = 0; i < 100; ++i) {
        p.payload = audio;
        p.payload_type = 0;
        p.timestamp = i * 160;
        p.arrival_ns = i * 20'000'000;
        tee.on_rtp(media::Direction::caller, p);
        p.payload_type = 13;
        tee.on_rtp(media::Direction::callee, p);
        p.payload = dtmf;
        p.payload_type = 101;
        tee.on_rtp(media::Direction::callee, p);
    }
    counting = false;
    EXPECT_EQ(allocations.load(), 0);
    EXPECT_EQ(sink.frames, 100);
    EXPECT_EQ(tee.counters(media::Direction::caller).frames.load(), 100u);
    DtmfEvent e;
    EXPECT_TRUE(tee.pop_dtmf(e));  // the DTMF path ran too
}

}  // namespace
}  // namespace voxfork::fork
