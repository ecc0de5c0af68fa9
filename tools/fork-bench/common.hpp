// Pieces shared by fork-bench's parts: the clock stamped into every RTP
// payload, a latency histogram, the layout of that payload.
#pragma once

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

// The first bytes of every RTP payload the bench sends: when it was sent and by
// which stream. voxforkd forks the payload unchanged, so the speech-server side
// reads the same stamp.
struct Stamp {
    std::uint64_t sent_ns;
    std::uint32_t stream;
};
constexpr std::size_t stamp_size = 12;

inline void put_stamp(unsigned char* p, const Stamp& s) {
    std::memcpy(p, &s.sent_ns, 8);
    std::memcpy(p + 8, &s.stream, 4);
}
inline Stamp get_stamp(const unsigned char* p) {
    Stamp s{};
    std::memcpy(&s.sent_ns, p, 8);
    std::memcpy(&s.stream, p + 8, 4);
    return s;
}

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
