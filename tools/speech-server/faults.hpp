// The fault modes (docs/speech-server.md "Fault modes"): which faults a
// connection gets (--fault-limit), what is due after N audio frames, and the
// whole-server ones: --black-hole (connections kept, never read) and
// --restart-after-frames / --restart-seconds (every connection reset, the port
// closed for a while, then listened on again).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "options.hpp"
#include "recorder.hpp"

namespace speech {

// The faults due on one connection once it received `frames` audio frames.
struct DueFaults {
    bool restart = false, reset = false, server_stop = false, server_pause = false, send_binary = false,
         send_text = false, close = false, stop_reading = false;
};

class FaultPlan {
public:
    explicit FaultPlan(const Options& options) : options_(options) {}

    // Whether one more connection may be faulted: every one, or the first
    // --fault-limit ones.
    bool take();
    // Whether any fault is configured for the upgrade or for the frames.
    bool any() const;
    DueFaults due(std::uint64_t frames, bool names_channel) const;

private:
    const Options& options_;
    std::uint64_t faulted_connections_ = 0;
};

// A session as a restart sees it.
class Resettable {
public:
    virtual ~Resettable() = default;
    virtual void reset(const char* why) = 0;  // RST, no close frame
};

// The whole-server faults. Sessions register themselves; the listener gives
// the outage how to stop and start listening.
class Outage {
public:
    Outage(boost::asio::io_context& ioc, const Options& options, Recorder& recorder)
        : options_(options), recorder_(recorder), timer_(ioc), every_(ioc) {}

    void set_listener(std::function<void()> stop_listening, std::function<void()> listen_again) {
        stop_listening_ = std::move(stop_listening);
        listen_again_ = std::move(listen_again);
        schedule();
    }
    // Every accepted session, so a restart can reset it.
    void track(const std::shared_ptr<Resettable>& session);
    // Keeps a session alive that has no pending operation to hold it (a black
    // hole, a connection no longer read); released at a restart or exit.
    void park(std::shared_ptr<void> session) { parked_.push_back(std::move(session)); }
    // What a crash and restart looks like from the client: every connection
    // reset, the port refusing connections, then the same port open again.
    void restart();
    // At exit: no restart pending, the parked sessions released.
    void stop();

private:
    const Options& options_;
    Recorder& recorder_;
    boost::asio::steady_timer timer_;
    std::function<void()> stop_listening_, listen_again_;
    std::vector<std::weak_ptr<Resettable>> live_;
    std::vector<std::shared_ptr<void>> parked_;
    bool restarting_ = false;
    boost::asio::steady_timer every_;  // --restart-every

    void schedule();
};

}  // namespace speech
