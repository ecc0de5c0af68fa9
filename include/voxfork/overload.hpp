// Overload control: how far the control-plane loop lags behind, and whether
// new calls should be refused because of it (docs/sip.md, "Overload").
//
// A timer asks to run every `period`; how late it runs is the loop's lag.
// The loop is overloaded when that lag, or the time the timer is overdue
// right now (a loop busy with a backlog runs nothing else), exceeds
// `enter_lag`, or when its input's receive queue is fuller than `enter_fill`
// (a loop that reads its input in bounded slices runs its timer on time
// while requests pile up in the kernel's socket buffer); it recovers once every tick for `recover_after` ran within
// `calm_lag`. Established calls are never touched: only new INVITEs are
// refused (503 with Retry-After), so the work they would add never starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace voxfork::overload {

using Clock = std::chrono::steady_clock;

struct Settings {
    std::chrono::milliseconds period{50};
    // SIP's T1: a peer whose request waits this long has begun to retransmit,
    // and every retransmission adds to the backlog.
    std::chrono::milliseconds enter_lag{500};
    std::chrono::milliseconds calm_lag{100};
    std::chrono::milliseconds recover_after{2000};
    // Half the receive buffer (8 MiB asked for: thousands of requests, more
    // than the loop reads in a T1); the fills measured at sustained rates
    // are in docs/performance.md, "Sustained call rates".
    double enter_fill = 0.5;
    double calm_fill = 0.1;
};

struct Counters {
    std::uint64_t episodes = 0;       // times the loop became overloaded
    std::uint64_t lag_ms_max = 0;     // the largest lag seen
    std::uint64_t lag_ms_last = 0;    // the last tick's
    std::uint64_t queue_fill_pct_last = 0;  // the input queue at the last tick, per cent full
    std::uint64_t queue_fill_pct_max = 0;   // the fullest it was seen
};

class LoopLag {
public:
    LoopLag(boost::asio::io_context& io, Settings settings = {});
    ~LoopLag();
    LoopLag(const LoopLag&) = delete;
    LoopLag& operator=(const LoopLag&) = delete;

    void start();
    void stop();
    // How full the loop's input queue is (0-1); asked at every tick.
    void watch_queue(std::function<double()> fill);

    // Whether new work should be refused now; `now` is for tests.
    bool overloaded(Clock::time_point now = Clock::now());
    const Counters& counters() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace voxfork::overload
