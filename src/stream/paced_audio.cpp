#include "paced_audio.hpp"

#include <algorithm>
#include <cstring>

#include "g711.hpp"

namespace voxfork::stream::detail {

void PositionedFraming::encode(std::span<std::uint8_t> out, media::Direction direction, std::uint32_t position,
                               std::span<const std::uint8_t> payload) noexcept {
    out[0] = static_cast<std::uint8_t>(direction);
    std::memcpy(out.data() + 1, &position, sizeof position);
    std::memcpy(out.data() + header, payload.data(), payload.size());
}

PositionedFraming::Record PositionedFraming::decode(std::span<const std::uint8_t> record) noexcept {
    Record r;
    r.direction = static_cast<media::Direction>(record[0]);
    std::memcpy(&r.position, record.data() + 1, sizeof r.position);
    r.payload = record.subspan(header);
    return r;
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

PacedAudio::PacedAudio(bool both, media::Direction only)
    : both_(both),
      only_(only),
      // The directions it carries, for as long as the io thread may stall.
      ring_(std::make_shared<Ring>(ring_bytes_for(stall_seconds, both ? 2 : 1, PositionedFraming::header))),
      playout_(both) {}

PacedAudio::Clock::time_point PacedAudio::due(std::uint64_t frame) const {
    return start_ + frame_time * static_cast<std::int64_t>(frame + 1) + playout_delay;
}

void PacedAudio::start(Clock::time_point now, Codec codec) {
    started_ = true;
    paused_ = false;
    start_ = now;
    codec_ = codec;
    silence_ = silence_of(convert_alaw_ ? Codec::ulaw : codec);
}

void PacedAudio::resume(Clock::time_point now, Codec codec) {
    paused_ = false;
    codec_ = codec;
    silence_ = silence_of(convert_alaw_ ? Codec::ulaw : codec);
    playout_.skip_to(now <= start_ ? 0 : static_cast<std::uint64_t>((now - start_) / frame_time));
}

std::uint64_t PacedAudio::take_ring() {
    const bool convert = convert_alaw_ && codec_ == Codec::alaw;
    ring_->drain([&](const PositionedFraming::Record& frame) {
        if (!running() || (!both_ && frame.direction != only_)) return;
        if (!convert) return playout_.put(frame.direction, frame.position, frame.payload);
        std::array<std::uint8_t, PositionedFraming::max_payload> ulaw;
        for (std::size_t i = 0; i < frame.payload.size(); ++i) ulaw[i] = g711::alaw_to_ulaw(frame.payload[i]);
        playout_.put(frame.direction, frame.position, {ulaw.data(), frame.payload.size()});
    });
    return ring_->take_dropped();
}

template <class Fn>
void PacedAudio::each_direction(Fn&& fn) {
    if (both_) {
        fn(delivery_[0]);
        fn(delivery_[1]);
    } else {
        fn(delivery_[static_cast<std::size_t>(only_) & 1]);
    }
}

// One frame carries a frame's time of each direction it holds: each is
// counted with its share of the bytes.
void PacedAudio::count_sent(std::size_t bytes) {
    const std::size_t share = both_ ? bytes / 2 : bytes;
    each_direction([&](Delivery& d) {
        ++d.frames_sent;
        d.bytes_sent += share;
    });
}

void PacedAudio::count_dropped() {
    each_direction([](Delivery& d) { ++d.frames_dropped; });
}

Delivery PacedAudio::delivery(media::Direction direction) const {
    return delivery_[static_cast<std::size_t>(direction) & 1];
}

}  // namespace voxfork::stream::detail
