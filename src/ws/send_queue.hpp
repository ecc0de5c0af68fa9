// The two queues of a connection's send path.
//
// AudioRing: media thread -> io thread, single producer, single consumer,
// fixed slots, no lock and no allocation. A full ring drops the new frame
// (the producer may not touch the consumer's end); the io thread drains it
// every couple of milliseconds, so it only fills when the io thread stalls.
//
// SendQueue: io thread only. Audio in a fixed ring of slots, dropped
// oldest-first when full; control messages are never dropped and go out after
// every audio frame queued before them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <voxfork/ws.hpp>

namespace voxfork::ws::detail {

inline constexpr std::size_t frame_header_size = 12;

struct AudioSlot {
    std::uint32_t channel = 0;
    std::uint16_t size = 0;  // header + payload
    std::array<std::uint8_t, frame_header_size + AudioSink::max_payload> bytes{};
    std::span<const std::uint8_t> frame() const { return {bytes.data(), size}; }
};

// Writes the 12-byte big-endian header and the payload into `slot`.
void encode_frame(AudioSlot& slot, std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                  std::span<const std::uint8_t> payload) noexcept;

class AudioRing final : public AudioSink {
public:
    explicit AudioRing(std::size_t min_capacity);
    bool send(std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
              std::span<const std::uint8_t> payload) noexcept override;

    // Consumer side (io thread).
    bool has_data() const noexcept {
        return head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_acquire);
    }
    // Calls fn(const AudioSlot&) for each queued frame, oldest first.
    template <class Fn>
    std::size_t drain(Fn&& fn) {
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        const std::uint64_t tail = tail_.load(std::memory_order_acquire);
        for (std::uint64_t i = head; i != tail; ++i) fn(slots_[i & mask_]);
        head_.store(tail, std::memory_order_release);
        return static_cast<std::size_t>(tail - head);
    }
    // Frames refused since the last call (ring full or oversized).
    std::uint64_t take_dropped() noexcept { return dropped_.exchange(0, std::memory_order_relaxed); }
    void close() noexcept { closed_.store(true, std::memory_order_release); }
    std::size_t capacity() const { return slots_.size(); }

private:
    std::vector<AudioSlot> slots_;
    std::size_t mask_;
    std::atomic<bool> closed_{false};
    std::atomic<std::uint64_t> dropped_{0};
    alignas(64) std::atomic<std::uint64_t> head_{0};  // consumer
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // producer
};

class SendQueue {
public:
    explicit SendQueue(std::size_t audio_capacity);

    // Queues a frame; when full the oldest audio frame is dropped and its
    // channel returned, so it can be counted.
    std::optional<std::uint32_t> push_audio(const AudioSlot& frame);
    void push_control(std::string text);

    enum class Kind { none, audio, control };
    // Takes the next message in wire order into `audio` or `text`.
    Kind pop(AudioSlot& audio, std::string& text);

    bool empty() const { return audio_head_ == audio_tail_ && controls_.empty(); }
    std::size_t audio_size() const { return static_cast<std::size_t>(audio_tail_ - audio_head_); }
    std::size_t control_size() const { return controls_.size(); }
    std::size_t audio_capacity() const { return audio_.size(); }

private:
    struct Control {
        std::uint64_t after;  // audio frames queued before it
        std::string text;
    };
    std::vector<AudioSlot> audio_;
    std::uint64_t audio_head_ = 0;
    std::uint64_t audio_tail_ = 0;
    std::deque<Control> controls_;
};

}  // namespace voxfork::ws::detail
