// Joins the fork controller to the B2BUA, the WebSocket pool and the relay.
// The fork part sees those only through its own small interfaces
// (include/voxfork/fork.hpp); the adapters here implement them over sip.hpp,
// ws.hpp and media.hpp, and turn the B2BUA's seam and the pool's events into
// controller calls. Nothing here decides anything about forking.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "voxfork/config.hpp"
#include "voxfork/fork.hpp"
#include "voxfork/media.hpp"
#include "voxfork/ops.hpp"
#include "voxfork/sip.hpp"
#include "voxfork/ws.hpp"

namespace voxfork {

class ForkWiring {
public:
    ForkWiring(boost::asio::io_context& io, config::ConfigPtr config, sip::B2bua& sip, ws::Pool& pool,
               media::Relay& relay, ops::CommandRegistry& commands);
    ~ForkWiring();
    ForkWiring(const ForkWiring&) = delete;
    ForkWiring& operator=(const ForkWiring&) = delete;

    void reload(config::ConfigPtr config);
    // Stops the poll timer and unhooks from the B2BUA and the pool.
    void stop();

private:
    class Calls;
    class Transport;
    class Taps;
    class Seam;
    class PoolEvents;

    void register_commands(ops::CommandRegistry& commands);
    void schedule_poll();

    boost::asio::io_context& io_;
    config::ConfigPtr config_;
    sip::B2bua& sip_;
    ws::Pool& pool_;
    std::unique_ptr<Calls> calls_;
    std::unique_ptr<Transport> transport_;
    std::unique_ptr<Taps> taps_;
    std::unique_ptr<fork::Controller> controller_;
    std::unique_ptr<Seam> seam_;
    std::unique_ptr<PoolEvents> pool_events_;
    boost::asio::steady_timer poll_timer_;
    bool stopped_ = false;
};

}  // namespace voxfork
