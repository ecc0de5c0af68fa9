#include "connection.hpp"

#include <spdlog/spdlog.h>

namespace voxfork::stream::raw {
namespace {
constexpr auto frame_time = std::chrono::milliseconds(20);
constexpr std::size_t latest_text_max = 1024;
}  // namespace

Connection::Connection(Settings settings)
    : settings_(std::move(settings)),
      // 2 s of 20 ms packets of the directions it carries.
      ring_(std::make_shared<Ring>(settings_.both ? 200 : 100)),
      playout_(settings_.both) {}

Clock::time_point Connection::due(std::uint64_t frame) const {
    return start_ + frame_time * static_cast<std::int64_t>(frame + 1) + playout_delay;
}

std::uint64_t Connection::frame_at(Clock::time_point t) const {
    return t <= start_ ? 0 : static_cast<std::uint64_t>((t - start_) / frame_time);
}

void Connection::start(Clock::time_point now, Codec codec) {
    started_ = true;
    paused_ = false;
    start_ = now;
    silence_ = detail::silence_of(codec);
}

void Connection::pause(Clock::time_point now) {
    paused_ = true;
    last_keepalive_ = now;
}

void Connection::resume(Clock::time_point now, Codec codec) {
    // The tee places the first audio after a resume at the time since the
    // start: the frames of the pause are never sent.
    paused_ = false;
    silence_ = detail::silence_of(codec);
    playout_.skip_to(frame_at(now));
}

void Connection::finish(Clock::time_point now, const std::string& stop_message) {
    if (finished_ || out_ == nullptr) return;
    if (started_ && !paused_) {
        take_ring();
        send_frames(now + playout_delay + frame_time);  // the frame under way too
    }
    finished_ = true;
    if (!stop_message.empty()) out_->send_text(stop_message);
    out_->close_when_sent();
}

Delivery Connection::delivery(media::Direction direction) const {
    return delivery_[static_cast<std::size_t>(direction) & 1];
}

void Connection::take_ring() {
    ring_->drain([&](const detail::PositionedFraming::Slot& slot) {
        if (started_ && !paused_ && !finished_)
            playout_.put(slot.direction, slot.position, {slot.bytes.data(), slot.size});
    });
}

std::uint64_t Connection::drain(ws::Output&) {
    refused_ += ring_->take_dropped();
    take_ring();
    return std::exchange(refused_, 0);
}

void Connection::send_frames(Clock::time_point until) {
    while (until >= due(playout_.next_frame())) out_->send_binary(0, playout_.take(silence_));
}

void Connection::on_tick(Clock::time_point now) {
    if (out_ == nullptr || !started_ || finished_) return;
    if (paused_) {
        if (!settings_.keepalive_message.empty() && now - last_keepalive_ >= keepalive_interval) {
            last_keepalive_ = now;
            out_->send_text(settings_.keepalive_message);
        }
        return;
    }
    send_frames(now);
}

template <class Fn>
void Connection::each_direction(Fn&& fn) {
    if (settings_.both) {
        fn(delivery_[0]);
        fn(delivery_[1]);
    } else {
        fn(delivery_[static_cast<std::size_t>(settings_.direction) & 1]);
    }
}

// One frame carries a frame's time of each direction it holds: each is
// counted with its share of the bytes.
void Connection::on_sent(std::uint32_t, std::size_t bytes) {
    const std::size_t share = settings_.both ? bytes / 2 : bytes;
    each_direction([&](Delivery& d) {
        ++d.frames_sent;
        d.bytes_sent += share;
    });
}

void Connection::on_dropped(std::uint32_t) {
    each_direction([](Delivery& d) { ++d.frames_dropped; });
}

void Connection::on_text(std::string_view text) {
    ++server_texts_;
    latest_text_ = std::string(text.substr(0, latest_text_max));
    spdlog::debug("raw: text from the server: {}", text.substr(0, 200));
}

bool Connection::on_binary(std::span<const std::uint8_t>) {
    ++server_binaries_;  // protocols.md: ignored and counted
    return true;
}

void Connection::on_closed() {
    out_ = nullptr;
    ring_->close();
}

}  // namespace voxfork::stream::raw
