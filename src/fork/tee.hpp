// The tee: a relay tap that turns each audio RTP packet of a forked call into
// one audio frame (direction, seq, position, payload) for the stream layer's
// sink, and each RFC 4733 telephone-event into one DTMF event for the control
// thread.
//
// on_rtp runs on the packet thread: no allocation, lock or log there. The
// control thread talks to it only through atomics (gate, payload types) and
// reads DTMF events from a single-producer single-consumer ring.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "voxfork/fork.hpp"
#include "voxfork/media.hpp"

namespace voxfork::fork {

struct ChannelCounters {
    std::atomic<std::uint64_t> frames{0};   // accepted by the sink
    std::atomic<std::uint64_t> bytes{0};    // their bytes as the sink frames them
    std::atomic<std::uint64_t> dropped{0};  // refused by the sink
};

// Process-wide totals per media::Direction, for the qfp fork global counters.
struct DataplaneCounters {
    ChannelCounters direction[2];
};

struct DtmfEvent {
    media::Direction direction = media::Direction::caller;
    char digit = 0;
    std::uint16_t duration = 0;
};

// Fixed-size SPSC ring: push on the packet thread, pop on the control thread.
template <std::size_t N>
class SpscRing {
    static_assert((N & (N - 1)) == 0, "N must be a power of two");

public:
    bool push(const DtmfEvent& e) noexcept {
        const auto head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) == N) return false;
        slots_[head & (N - 1)] = e;
        head_.store(head + 1, std::memory_order_release);
        return true;
    }
    bool pop(DtmfEvent& e) noexcept {
        const auto tail = tail_.load(std::memory_order_relaxed);
        if (tail == head_.load(std::memory_order_acquire)) return false;
        e = slots_[tail & (N - 1)];
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

private:
    std::array<DtmfEvent, N> slots_{};
    std::atomic<std::uint64_t> head_{0};
    std::atomic<std::uint64_t> tail_{0};
};

inline constexpr std::uint8_t comfort_noise_pt = 13;

// Maps an RFC 4733 event code to its digit; 0 for codes that are not DTMF digits.
char dtmf_digit(std::uint8_t event) noexcept;

class Tee final : public media::TapSink {
public:
    struct Setup {
        stream::AudioSink* sink = nullptr;  // outlives the tap (the controller holds it)
        std::int64_t start_ns = 0;      // when START was sent, CLOCK_MONOTONIC
        int audio_pt[2] = {0, 0};       // by media::Direction: G.711 may come on a dynamic type
        int dtmf_pt[2] = {-1, -1};
        bool paused = false;
        // Bumped after each DTMF event is queued, so the control thread
        // looks at the tees only when one was (may be null).
        std::atomic<std::uint64_t>* dtmf_queued = nullptr;
    };
    // `totals` may be null.
    Tee(const Setup& setup, DataplaneCounters* totals);

    // Control thread.
    void pause() noexcept;
    void resume() noexcept;  // the next frame of each channel rebases its position
    void set_audio_pt(media::Direction d, int pt) noexcept {
        channel_[index(d)].audio_pt.store(pt, std::memory_order_relaxed);
    }
    void set_dtmf_pt(media::Direction d, int pt) noexcept;
    bool pop_dtmf(DtmfEvent& event) noexcept { return dtmf_.pop(event); }
    const ChannelCounters& counters(media::Direction d) const { return channel_[index(d)].counters; }
    std::uint64_t dtmf_lost() const { return dtmf_lost_.load(std::memory_order_relaxed); }

    // Packet thread.
    void on_rtp(media::Direction direction, const media::RtpPacket& packet) noexcept override;

private:
    static std::size_t index(media::Direction d) { return static_cast<std::size_t>(d); }

    struct Channel {
        std::atomic<int> audio_pt{0};
        std::atomic<int> dtmf_pt{-1};
        ChannelCounters counters;
        // Packet thread only.
        std::uint32_t seq = 0;
        bool based = false;  // a position base exists for the current SSRC and epoch
        std::uint32_t ssrc = 0;
        std::uint32_t epoch = 0;
        std::uint32_t base_position = 0;
        std::uint32_t base_timestamp = 0;
        bool event_seen = false;  // an end packet of this event timestamp was handled
        std::uint32_t event_ssrc = 0;
        std::uint32_t event_timestamp = 0;
    };

    void audio(Channel& ch, std::size_t dir, const media::RtpPacket& p, std::uint32_t gate) noexcept;
    void telephone_event(Channel& ch, std::size_t dir, const media::RtpPacket& p, bool paused) noexcept;

    stream::AudioSink* sink_;
    std::int64_t start_ns_;
    DataplaneCounters* totals_;
    std::atomic<std::uint32_t> gate_;  // bit 0: paused; bits 1..: resume epoch
    Channel channel_[2];
    SpscRing<64> dtmf_;
    std::atomic<std::uint64_t>* dtmf_queued_;
    std::atomic<std::uint64_t> dtmf_lost_{0};
};

}  // namespace voxfork::fork
