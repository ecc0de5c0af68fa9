#include "paced_audio.hpp"

#include <algorithm>
#include <cstring>

namespace voxfork::stream::detail {

bool PositionedFraming::encode(Slot& slot, media::Direction direction, std::uint32_t position,
                               std::span<const std::uint8_t> payload) noexcept {
    if (payload.size() > max_payload) return false;
    slot.direction = direction;
    slot.position = position;
    slot.size = static_cast<std::uint16_t>(payload.size());
    std::memcpy(slot.bytes.data(), payload.data(), payload.size());
    return true;
}

PlayoutBuffer::PlayoutBuffer(bool both, std::uint32_t window_samples)
    : both_(both), window_(std::max(window_samples, samples_per_frame)) {
    for (Lane& l : lanes_) {
        l.bytes.assign(window_, 0);
        l.present.assign(window_, false);
    }
    frame_.resize(frame_bytes());
}

void PlayoutBuffer::put(media::Direction direction, std::uint32_t position, std::span<const std::uint8_t> payload) {
    Lane& l = lane(direction);
    const std::uint64_t first_open = next_frame_ * samples_per_frame;
    for (std::size_t i = 0; i < payload.size(); ++i) {
        const std::uint64_t at = std::uint64_t{position} + i;
        if (at < first_open || at >= first_open + window_) {
            ++discarded_;
            continue;
        }
        const std::size_t slot = static_cast<std::size_t>(at % window_);
        l.bytes[slot] = payload[i];
        l.present[slot] = true;
    }
}

std::span<const std::uint8_t> PlayoutBuffer::take(std::uint8_t silence) {
    const std::size_t start = static_cast<std::size_t>((next_frame_ * samples_per_frame) % window_);
    const std::size_t lanes = both_ ? 2 : 1;
    for (std::size_t i = 0; i < samples_per_frame; ++i) {
        const std::size_t slot = (start + i) % window_;
        for (std::size_t d = 0; d < lanes; ++d) {
            Lane& l = lanes_[d];
            frame_[i * lanes + d] = l.present[slot] ? l.bytes[slot] : silence;
            l.present[slot] = false;
        }
    }
    ++next_frame_;
    return frame_;
}

void PlayoutBuffer::skip_to(std::uint64_t frame) {
    if (frame <= next_frame_) return;
    const std::uint64_t frames = std::min<std::uint64_t>(frame - next_frame_, window_ / samples_per_frame + 1);
    for (std::uint64_t f = 0; f < frames; ++f) {
        const std::size_t start = static_cast<std::size_t>(((next_frame_ + f) * samples_per_frame) % window_);
        for (Lane& l : lanes_)
            for (std::size_t i = 0; i < samples_per_frame; ++i) l.present[(start + i) % window_] = false;
    }
    next_frame_ = frame;
}

}  // namespace voxfork::stream::detail
