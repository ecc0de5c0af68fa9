// The daemon: owns the control-plane io_context, the current configuration,
// the command registry, the control socket and every part, and joins them.
// It is the only place that knows all the parts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "voxfork/config.hpp"
#include "voxfork/control_socket.hpp"
#include "voxfork/metrics.hpp"
#include "voxfork/ops.hpp"

namespace voxfork {

class Daemon {
public:
    // `rtp_priority` > 0: the relay's packet thread asks for SCHED_FIFO at it.
    Daemon(std::string config_path, config::ConfigPtr config, int rtp_priority = 0);
    ~Daemon();

    // Runs until SIGTERM/SIGINT; returns the process exit status.
    int run();

private:
    void start_parts();
    void register_commands();
    void reload();
    void apply_media_addresses(const config::Config& next);
    void shutdown();
    void finish_shutdown();
    // Sends WATCHDOG=1 now and every `period` while the control-plane loop runs.
    void feed_watchdog(std::chrono::microseconds period);
    // Opens, moves or closes the metrics endpoint as `metrics listen` says.
    void apply_metrics_listen();
    // Every memory_check_interval: freed heap memory above memory_kept_free
    // goes back to the system.
    void give_back_memory();

    std::string config_path_;
    config::ConfigPtr config_;
    int rtp_priority_ = 0;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer shutdown_deadline_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer memory_timer_;
    ops::CommandRegistry commands_;
    ops::ControlSocket control_socket_;
    ops::Metrics metrics_;
    ops::MetricsServer metrics_server_;
    std::string metrics_address_;  // where metrics_server_ listens
    bool stopping_ = false;

    // The parts, joined here (each added by its subsystem).
    struct Parts;
    std::unique_ptr<Parts> parts_;
};

}  // namespace voxfork
