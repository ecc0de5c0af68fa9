#include "faults.hpp"

#include <chrono>
#include <utility>

namespace speech {

bool FaultPlan::take() {
    if (options_.fault_limit && faulted_connections_ >= *options_.fault_limit) return false;
    ++faulted_connections_;
    return true;
}

bool FaultPlan::any() const {
    const Options& o = options_;
    return o.refuse_upgrade || o.garbage_response || o.bad_accept || o.hang_upgrade || o.no_subprotocol ||
           o.close_after || o.reset_after || o.stop_reading_after || o.stop_channel_after || o.send_binary_after ||
           o.send_text_after || o.restart_after || o.server_pause_after;
}

DueFaults FaultPlan::due(std::uint64_t frames, bool names_channel) const {
    const Options& o = options_;
    DueFaults d;
    d.restart = o.restart_after == frames;
    d.reset = o.reset_after == frames;
    d.server_stop = o.stop_channel_after == frames && names_channel;
    d.server_pause = o.server_pause_after == frames;
    d.send_binary = o.send_binary_after == frames;
    d.send_text = o.send_text_after == frames;
    d.close = o.close_after == frames;
    d.stop_reading = o.stop_reading_after == frames;
    return d;
}

void Outage::track(const std::shared_ptr<Resettable>& session) {
    if (live_.size() >= 1024) std::erase_if(live_, [](const auto& w) { return w.expired(); });
    live_.push_back(session);
}

void Outage::restart() {
    if (restarting_ || !stop_listening_) return;
    restarting_ = true;
    stop_listening_();
    for (auto& weak : std::exchange(live_, {}))
        if (auto session = weak.lock()) session->reset("server-restart");
    parked_.clear();
    recorder_.event({{"event", "down"}, {"seconds", options_.restart_seconds}});
    timer_.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(options_.restart_seconds * 1000)));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        restarting_ = false;
        listen_again_();
    });
}

void Outage::schedule() {
    if (options_.restart_every <= 0) return;
    every_.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(options_.restart_every * 1000)));
    every_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        recorder_.event({{"event", "restart"}, {"reason", "restart-every"}});
        restart();
        schedule();
    });
}

void Outage::stop() {
    every_.cancel();
    timer_.cancel();
    parked_.clear();
}

}  // namespace speech
