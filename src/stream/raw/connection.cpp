#include "connection.hpp"

#include <spdlog/spdlog.h>

namespace voxfork::stream::raw {
namespace {
constexpr std::size_t latest_text_max = 1024;
}  // namespace

Connection::Connection(Settings settings)
    : settings_(std::move(settings)),
      audio_(settings_.both, settings_.direction),
      continuity_(settings_.reconnect_window, 0, settings_.both ? 2 : 1) {}

void Connection::on_open(ws::Output& out) {
    out_ = &out;
    continuity_.reconnected();  // what was kept goes first, from the next tick
}

void Connection::on_interrupted() {
    out_ = nullptr;
    continuity_.lost();
}

bool Connection::on_unsent(std::uint32_t, std::span<const std::uint8_t> frame) {
    continuity_.keep(0, frame);
    return true;
}

std::uint64_t Connection::keep() {
    const std::uint64_t refused = audio_.take_ring();
    if (!finished_) send_frames(Clock::now(), Until::groups);  // on the clock, into the outage buffer
    return refused + continuity_.take_dropped();
}

void Connection::pause(Clock::time_point now) {
    send_frames(now, Until::due);  // what the pause's moment completed
    audio_.pause();
    last_keepalive_ = now;
}

void Connection::send_frames(Clock::time_point now, Until until) {
    audio_.send_due(now, until, [&](std::span<const std::uint8_t> frame) { continuity_.send(out_, 0, frame); });
}

void Connection::finish(Clock::time_point now, const std::string& stop_message) {
    if (finished_ || out_ == nullptr) return;
    audio_.take_ring();
    send_frames(now, Until::end);
    continuity_.replay_all(*out_);
    finished_ = true;
    audio_.stop();
    if (!stop_message.empty()) out_->send_text(stop_message);
    out_->close_when_sent();
}

// As AudioHook's: nothing to do between frames but a replay.
Clock::time_point Connection::next_service(Clock::time_point now) const {
    return continuity_.holding() ? now : audio_.next_due(now);
}

void Connection::on_tick(Clock::time_point now) {
    if (out_ == nullptr || finished_) return;
    if (audio_.paused()) {
        if (!settings_.keepalive_message.empty() && now - last_keepalive_ >= keepalive_interval) {
            last_keepalive_ = now;
            out_->send_text(settings_.keepalive_message);
        }
        return;
    }
    continuity_.replay(*out_);
    send_frames(now, Until::groups);
}

void Connection::on_text(std::string_view text) {
    ++server_texts_;
    latest_text_ = std::string(text.substr(0, latest_text_max));
    latest_text_at_ = Clock::now();
    spdlog::debug("raw: text from the server: {}", text.substr(0, 200));
}

bool Connection::on_binary(std::span<const std::uint8_t>) {
    ++server_binaries_;  // docs/stream.md: ignored and counted
    return true;
}

void Connection::on_closed() {
    out_ = nullptr;
    continuity_.clear();
    audio_.ring()->close();
}

}  // namespace voxfork::stream::raw
