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

PlayoutBuffer::PlayoutBuffer(bool both, std::uint32_t window_samples, std::uint8_t silence)
    : both_(both),
      window_((std::max(window_samples, samples_per_frame) + samples_per_frame - 1) / samples_per_frame *
              samples_per_frame),
      silence_(silence) {
    lanes_[0].assign(window_, silence_);
    if (both_) lanes_[1].assign(window_, silence_);
    frame_.resize(frame_bytes());
}

void PlayoutBuffer::put(media::Direction direction, std::uint32_t position, std::span<const std::uint8_t> payload) {
    const std::uint64_t first_open = next_frame_ * samples_per_frame;
    const std::uint64_t from = std::max<std::uint64_t>(position, first_open);
    const std::uint64_t to = std::min<std::uint64_t>(std::uint64_t{position} + payload.size(), first_open + window_);
    if (from >= to) {
        discarded_ += payload.size();
        return;
    }
    discarded_ += payload.size() - (to - from);
    Lane& l = lane(direction);
    const std::uint8_t* bytes = payload.data() + (from - position);
    const std::size_t count = static_cast<std::size_t>(to - from);
    const std::size_t slot = static_cast<std::size_t>(from % window_);
    const std::size_t before_end = std::min<std::size_t>(count, window_ - slot);
    std::memcpy(l.data() + slot, bytes, before_end);
    std::memcpy(l.data(), bytes + before_end, count - before_end);
}

// The window is whole frames, so a frame's slots never wrap.
std::span<const std::uint8_t> PlayoutBuffer::take() {
    const std::size_t slot = slot_of(next_frame_);
    std::uint8_t* caller = lanes_[0].data() + slot;
    if (both_) {
        std::uint8_t* callee = lanes_[1].data() + slot;
        for (std::size_t i = 0; i < samples_per_frame; ++i) {
            frame_[2 * i] = caller[i];
            frame_[2 * i + 1] = callee[i];
        }
        std::memset(callee, silence_, samples_per_frame);
    } else {
        std::memcpy(frame_.data(), caller, samples_per_frame);
    }
    std::memset(caller, silence_, samples_per_frame);
    ++next_frame_;
    return frame_;
}

void PlayoutBuffer::skip_to(std::uint64_t frame) {
    if (frame <= next_frame_) return;
    const std::uint64_t frames = std::min<std::uint64_t>(frame - next_frame_, window_ / samples_per_frame);
    for (std::uint64_t f = 0; f < frames; ++f)
        for (Lane& l : lanes_)
            if (!l.empty()) std::memset(l.data() + slot_of(next_frame_ + f), silence_, samples_per_frame);
    next_frame_ = frame;
}

void PlayoutBuffer::set_silence(std::uint8_t silence) {
    if (silence == silence_) return;
    silence_ = silence;
    for (Lane& l : lanes_) std::fill(l.begin(), l.end(), silence_);
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
    playout_.set_silence(silence_of(convert_alaw_ ? Codec::ulaw : codec));
}

void PacedAudio::resume(Clock::time_point now, Codec codec) {
    paused_ = false;
    codec_ = codec;
    playout_.skip_to(now <= start_ ? 0 : static_cast<std::uint64_t>((now - start_) / frame_time));
    // What the pause's frames held is gone already.
    playout_.set_silence(silence_of(convert_alaw_ ? Codec::ulaw : codec));
}

std::uint64_t PacedAudio::frames_due(Clock::time_point until) const {
    const auto first_due = start_ + frame_time + playout_delay;
    return until < first_due ? 0 : static_cast<std::uint64_t>((until - first_due) / frame_time) + 1;
}

std::uint64_t PacedAudio::frames_before(std::uint64_t position) {
    constexpr std::uint64_t delay_samples = playout_delay / frame_time * samples_per_frame;
    return position > delay_samples ? (position - delay_samples) / samples_per_frame : 0;
}

void PacedAudio::place_from_ring(std::optional<Clock::time_point> until) {
    const bool convert = convert_alaw_ && codec_ == Codec::alaw;
    const std::uint64_t room_by_then = until ? frames_due(*until) * samples_per_frame + playout_.window() : 0;
    waiting_ = false;
    ring_->drain_while([&](const PositionedFraming::Record& frame) {
        if (!running() || (!both_ && frame.direction != only_)) return true;
        const std::uint64_t end = std::uint64_t{frame.position} + frame.payload.size();
        if (end > playout_.window_end() && (!until || end <= room_by_then)) {
            waiting_ = true;
            waiting_position_ = frame.position;
            return false;
        }
        if (!convert) {
            playout_.put(frame.direction, frame.position, frame.payload);
            return true;
        }
        std::array<std::uint8_t, PositionedFraming::max_payload> ulaw;
        for (std::size_t i = 0; i < frame.payload.size(); ++i) ulaw[i] = g711::alaw_to_ulaw(frame.payload[i]);
        playout_.put(frame.direction, frame.position, {ulaw.data(), frame.payload.size()});
        return true;
    });
}

std::uint64_t PacedAudio::take_ring() {
    place_from_ring(std::nullopt);
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
