#include "voxfork/overload.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace voxfork::overload {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

struct LoopLag::Impl {
    Impl(boost::asio::io_context& io, Settings s) : timer(io), settings(s) {}
    void arm(Clock::time_point due);
    void on_tick(Clock::time_point due, Clock::time_point now);
    void enter(milliseconds lag);
    void enter_full(double fill);
    bool begin_episode();

    boost::asio::steady_timer timer;
    const Settings settings;
    std::function<double()> queue_fill;
    Clock::time_point due{};         // when the pending tick should run
    Clock::time_point calm_since{};  // first of the calm ticks in a row while overloaded
    bool running = false;
    bool overloaded = false;
    Counters counters;
};

LoopLag::LoopLag(boost::asio::io_context& io, Settings settings) : impl_(std::make_unique<Impl>(io, settings)) {}

LoopLag::~LoopLag() = default;

const Counters& LoopLag::counters() const {
    return impl_->counters;
}

void LoopLag::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->arm(Clock::now() + impl_->settings.period);
}

void LoopLag::watch_queue(std::function<double()> fill) {
    impl_->queue_fill = std::move(fill);
}

void LoopLag::stop() {
    impl_->running = false;
    impl_->timer.cancel();
}

bool LoopLag::overloaded(Clock::time_point now) {
    // A loop working through a backlog runs no timer: the tick overdue now
    // tells what its last run cannot.
    if (impl_->running && now - impl_->due > impl_->settings.enter_lag)
        impl_->enter(duration_cast<milliseconds>(now - impl_->due));
    return impl_->overloaded;
}

void LoopLag::Impl::arm(Clock::time_point when) {
    due = when;
    timer.expires_at(when);
    timer.async_wait([this, when](boost::system::error_code ec) {
        if (!ec && running) on_tick(when, Clock::now());
    });
}

void LoopLag::Impl::on_tick(Clock::time_point when, Clock::time_point now) {
    const auto lag = duration_cast<milliseconds>(std::max(now - when, Clock::duration::zero()));
    counters.lag_ms_last = static_cast<std::uint64_t>(lag.count());
    counters.lag_ms_max = std::max(counters.lag_ms_max, counters.lag_ms_last);
    const double fill = queue_fill ? queue_fill() : 0.0;
    counters.queue_fill_pct_last = static_cast<std::uint64_t>(fill * 100);
    counters.queue_fill_pct_max = std::max(counters.queue_fill_pct_max, counters.queue_fill_pct_last);
    if (lag > settings.enter_lag) {
        enter(lag);
    } else if (fill > settings.enter_fill) {
        enter_full(fill);
    } else if (overloaded) {
        if (lag > settings.calm_lag || fill > settings.calm_fill) {
            calm_since = {};
        } else if (calm_since == Clock::time_point{}) {
            calm_since = now;
        } else if (now - calm_since >= settings.recover_after) {
            overloaded = false;
            spdlog::warn("overload: the control plane keeps up again; new calls are accepted");
        }
    }
    // From now, not from `when`: a late tick must not be followed by a burst of catch-up ticks.
    arm(now + settings.period);
}

bool LoopLag::Impl::begin_episode() {
    calm_since = {};
    if (overloaded) return false;
    overloaded = true;
    ++counters.episodes;
    return true;
}

void LoopLag::Impl::enter(milliseconds lag) {
    if (begin_episode())
        spdlog::warn("overload: the control plane lags {} ms behind; new calls are refused (503) until it keeps up",
                     lag.count());
}

void LoopLag::Impl::enter_full(double fill) {
    if (begin_episode())
        spdlog::warn("overload: the SIP receive queue is {}% full; new calls are refused (503) until it keeps up",
                     static_cast<int>(fill * 100));
}

}  // namespace voxfork::overload
