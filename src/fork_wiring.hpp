// Joins the fork controller to the B2BUA, the stream layer and the relay.
// The fork part sees SIP and the relay only through its own small interfaces
// (include/voxfork/fork.hpp); the adapters here implement them over sip.hpp
// and media.hpp. The controller is the B2BUA's fork seam (call.hpp) and the
// stream layer's events (stream.hpp) itself.
// Nothing here decides anything about forking.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "voxfork/config.hpp"
#include "voxfork/fork.hpp"
#include "voxfork/media.hpp"
#include "voxfork/ops.hpp"
#include "voxfork/sip.hpp"
#include "voxfork/stream.hpp"

namespace voxfork {

class ForkWiring {
public:
    ForkWiring(boost::asio::io_context& io, config::ConfigPtr config, sip::B2bua& sip, stream::Service& streams,
               media::Relay& relay, ops::CommandRegistry& commands);
    ~ForkWiring();
    ForkWiring(const ForkWiring&) = delete;
    ForkWiring& operator=(const ForkWiring&) = delete;

    void reload(config::ConfigPtr config);
    // Stops the poll timer and unhooks from the B2BUA and the stream layer.
    void stop();

    // For the metrics endpoint: reads only.
    const fork::Controller& controller() const { return *controller_; }

private:
    class Calls;
    class Taps;

    void register_commands(ops::CommandRegistry& commands);
    void schedule_poll();

    boost::asio::io_context& io_;
    config::ConfigPtr config_;
    sip::B2bua& sip_;
    stream::Service& streams_;
    std::unique_ptr<Calls> calls_;
    std::unique_ptr<Taps> taps_;
    std::unique_ptr<fork::Controller> controller_;
    boost::asio::steady_timer poll_timer_;
    bool stopped_ = false;
};

}  // namespace voxfork
