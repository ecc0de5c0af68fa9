#include "send_queue.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace voxfork::ws::detail {

namespace {
void put_u32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
}  // namespace

void encode_frame(AudioSlot& slot, std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                  std::span<const std::uint8_t> payload) noexcept {
    slot.channel = channel;
    put_u32(slot.bytes.data(), channel);
    put_u32(slot.bytes.data() + 4, seq);
    put_u32(slot.bytes.data() + 8, position);
    std::memcpy(slot.bytes.data() + frame_header_size, payload.data(), payload.size());
    slot.size = static_cast<std::uint16_t>(frame_header_size + payload.size());
}

AudioRing::AudioRing(std::size_t min_capacity)
    : slots_(std::bit_ceil(std::max<std::size_t>(min_capacity, 2))), mask_(slots_.size() - 1) {}

bool AudioRing::send(std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                     std::span<const std::uint8_t> payload) noexcept {
    if (closed_.load(std::memory_order_acquire)) return false;
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (payload.size() > max_payload || tail - head_.load(std::memory_order_acquire) >= slots_.size()) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    encode_frame(slots_[tail & mask_], channel, seq, position, payload);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
}

SendQueue::SendQueue(std::size_t audio_capacity) : audio_(std::max<std::size_t>(audio_capacity, 1)) {}

std::optional<std::uint32_t> SendQueue::push_audio(const AudioSlot& frame) {
    std::optional<std::uint32_t> dropped;
    if (audio_size() == audio_.size()) {
        dropped = audio_[audio_head_ % audio_.size()].channel;
        ++audio_head_;
    }
    AudioSlot& slot = audio_[audio_tail_ % audio_.size()];
    slot.channel = frame.channel;
    slot.size = frame.size;
    std::memcpy(slot.bytes.data(), frame.bytes.data(), frame.size);
    ++audio_tail_;
    return dropped;
}

void SendQueue::push_control(std::string text) {
    controls_.push_back({audio_tail_, std::move(text)});
}

SendQueue::Kind SendQueue::pop(AudioSlot& audio, std::string& text) {
    // A control goes first once every audio frame queued before it is gone
    // (sent or dropped).
    if (!controls_.empty() && controls_.front().after <= audio_head_) {
        text = std::move(controls_.front().text);
        controls_.pop_front();
        return Kind::control;
    }
    if (audio_head_ != audio_tail_) {
        const AudioSlot& slot = audio_[audio_head_ % audio_.size()];
        audio.channel = slot.channel;
        audio.size = slot.size;
        std::memcpy(audio.bytes.data(), slot.bytes.data(), slot.size);
        ++audio_head_;
        return Kind::audio;
    }
    return Kind::none;
}

}  // namespace voxfork::ws::detail
