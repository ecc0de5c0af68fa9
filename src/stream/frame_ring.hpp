// The lock-free hand-off of a fork's audio from the media packet thread to
// the io thread: single producer, single consumer, fixed slots, no lock and
// no allocation. Each protocol supplies its Framing at compile time: the slot
// type and how one RTP payload is written into a slot (voxfork-v1 writes its
// 12-byte header there, so the io thread only copies finished frames out).
//
// A full ring refuses the new frame (the producer may not touch the
// consumer's end) and counts it; the io thread drains it every few
// milliseconds, so it fills only when the io thread stalls.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <vector>

namespace voxfork::stream::detail {

template <class Framing>
class FrameRing {
public:
    using Slot = typename Framing::Slot;

    explicit FrameRing(std::size_t min_capacity)
        : slots_(std::bit_ceil(std::max<std::size_t>(min_capacity, 2))), mask_(slots_.size() - 1) {}

    // Producer (packet thread). False when refused: closed, full, or a frame
    // the framing cannot hold.
    template <class... Args>
    bool push(const Args&... args) noexcept {
        if (closed_.load(std::memory_order_acquire)) return false;
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_.load(std::memory_order_acquire) >= slots_.size() ||
            !Framing::encode(slots_[tail & mask_], args...)) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Consumer (io thread).
    bool has_data() const noexcept {
        return head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_acquire);
    }
    // Calls fn(const Slot&) for each queued frame, oldest first.
    template <class Fn>
    std::size_t drain(Fn&& fn) {
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire);
        for (std::uint64_t i = head; i != tail; ++i) fn(slots_[i & mask_]);
        head_.store(tail, std::memory_order_release);
        return static_cast<std::size_t>(tail - head);
    }
    // Frames refused since the last call.
    std::uint64_t take_dropped() noexcept { return dropped_.exchange(0, std::memory_order_relaxed); }
    // From now on every frame is refused (the connection is gone).
    void close() noexcept { closed_.store(true, std::memory_order_release); }
    std::size_t capacity() const { return slots_.size(); }

private:
    std::vector<Slot> slots_;
    std::size_t mask_;
    std::atomic<bool> closed_{false};
    std::atomic<std::uint64_t> dropped_{0};
    alignas(64) std::atomic<std::uint64_t> head_{0};  // consumer
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // producer
};

}  // namespace voxfork::stream::detail
