// Pieces shared by fork-bench's parts: the clock stamped into every RTP
// payload, a latency histogram, the layout of that payload.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace forkbench {

inline std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The first bytes of every RTP payload the bench sends: a marker, when it was
// sent, by which stream, and its packet number in that stream (the RTP seq;
// protocols without a seq of their own show their gaps by it). voxforkd forks
// the payload unchanged, so the speech-server side reads the same stamp: at
// the start of a voxfork-v1 frame's audio, and found by its marker where the
// clock's pacing cuts the audio into frames of its own (AudioHook, raw).
struct Stamp {
    std::uint64_t sent_ns;
    std::uint32_t stream;
    std::uint16_t packet;
};
constexpr unsigned char stamp_marker[4] = {0xA5, 0x5A, 0xC3, 0x3C};
constexpr std::size_t stamp_size = 18;

inline void put_stamp(unsigned char* p, const Stamp& s) {
    std::memcpy(p, stamp_marker, 4);
    std::memcpy(p + 4, &s.sent_ns, 8);
    std::memcpy(p + 12, &s.stream, 4);
    std::memcpy(p + 16, &s.packet, 2);
}
inline Stamp get_stamp(const unsigned char* p) {
    Stamp s{};
    std::memcpy(&s.sent_ns, p + 4, 8);
    std::memcpy(&s.stream, p + 12, 4);
    std::memcpy(&s.packet, p + 16, 2);
    return s;
}

// Finds the stamps in one channel's audio as it arrives in frames of any cut:
// a stamp split between two frames is found when the second arrives.
class StampScanner {
public:
    template <class OnStamp>
    void scan(const unsigned char* bytes, std::size_t size, OnStamp&& on_stamp) {
        // The tail of the last frame that could begin a stamp, then this frame.
        unsigned char joined[stamp_size - 1 + 2048];
        size = std::min(size, sizeof joined - carried_);
        std::memcpy(joined, carry_, carried_);
        std::memcpy(joined + carried_, bytes, size);
        const std::size_t total = carried_ + size;
        std::size_t at = 0;
        for (; at + stamp_size <= total; ++at) {
            if (std::memcmp(joined + at, stamp_marker, sizeof stamp_marker) != 0) continue;
            on_stamp(get_stamp(joined + at));
            at += stamp_size - 1;
        }
        carried_ = std::min(total - std::min(at, total), stamp_size - 1);
        std::memcpy(carry_, joined + total - carried_, carried_);
    }

private:
    unsigned char carry_[stamp_size - 1] = {};
    std::size_t carried_ = 0;
};

// How the bench's receivers (the far ends' RTP, the speech server) wait for
// data. On loopback, a receiver asleep on its socket is woken by voxforkd's
// send, and that wake-up is charged to voxforkd's thread; on a real network the
// NIC takes it. So by default they poll every kPollIntervalNs without sleeping
// on the sockets (as relay-bench's receiver does); `wake` keeps them asleep on
// the sockets, to see what loopback wake-ups cost.
enum class Receivers { poll, wake };
constexpr long kPollIntervalNs = 100'000;

inline void pause_between_polls() {
    const timespec interval{0, kPollIntervalNs};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &interval, nullptr);
}

// One-way latency in 1 µs buckets up to 1 s; owned by one thread.
class Histogram {
public:
    void add(std::uint64_t ns) {
        std::uint64_t us = ns / 1000;
        ++buckets_[us < buckets_.size() - 1 ? us : buckets_.size() - 1];
        ++count_;
    }
    std::uint64_t count() const { return count_; }
    // The q-quantile in µs (the last bucket means "≥ 1 s").
    std::uint64_t quantile(double q) const {
        if (count_ == 0) return 0;
        auto want = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= want) return i;
        }
        return buckets_.size() - 1;
    }

private:
    std::array<std::uint64_t, 1000001> buckets_{};
    std::uint64_t count_ = 0;
};

}  // namespace forkbench
