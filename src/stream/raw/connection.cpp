#include "connection.hpp"

#include <spdlog/spdlog.h>

namespace voxfork::stream::raw {
namespace {
constexpr std::size_t latest_text_max = 1024;
}  // namespace

Connection::Connection(Settings settings) : settings_(std::move(settings)), audio_(settings_.both, settings_.direction) {}

void Connection::pause(Clock::time_point now) {
    audio_.pause();
    last_keepalive_ = now;
}

void Connection::send_frames(Clock::time_point now, bool flush) {
    audio_.send_due(now, flush, [&](std::span<const std::uint8_t> frame) { out_->send_binary(0, frame); });
}

void Connection::finish(Clock::time_point now, const std::string& stop_message) {
    if (finished_ || out_ == nullptr) return;
    audio_.take_ring();
    send_frames(now, true);
    finished_ = true;
    audio_.stop();
    if (!stop_message.empty()) out_->send_text(stop_message);
    out_->close_when_sent();
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
    send_frames(now, false);
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
    audio_.ring()->close();
}

}  // namespace voxfork::stream::raw
