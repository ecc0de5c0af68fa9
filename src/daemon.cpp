#include "daemon.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <spdlog/spdlog.h>

#include "fork_wiring.hpp"
#include "metrics_wiring.hpp"
#include "voxfork/stream.hpp"
#include "voxfork/config_json.hpp"
#include "voxfork/media.hpp"
#include "voxfork/sip.hpp"
#include "voxfork/dns.hpp"
#include "voxfork/ws.hpp"

namespace voxfork {

namespace {

// systemd's Type=notify readiness message, without linking libsystemd.
void notify_systemd(const char* state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@')) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::size_t length = std::min(std::strlen(path), sizeof(address.sun_path) - 1);
    std::memcpy(address.sun_path, path, length);
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
             static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
    ::close(fd);
}

// The interval at which systemd wants WATCHDOG=1 (WatchdogSec=): none when
// WATCHDOG_USEC is unset, or WATCHDOG_PID names another process.
std::optional<std::chrono::microseconds> watchdog_interval() {
    const char* usec = std::getenv("WATCHDOG_USEC");
    if (!usec) return std::nullopt;
    if (const char* pid = std::getenv("WATCHDOG_PID"); pid && std::strtoll(pid, nullptr, 10) != ::getpid())
        return std::nullopt;
    char* end = nullptr;
    const long long value = std::strtoll(usec, &end, 10);
    if (end == usec || *end != '\0' || value <= 0) return std::nullopt;
    return std::chrono::microseconds(value);
}

// The packet thread asks for SCHED_FIFO itself and carries on without it if
// refused; say so here, once, where an operator reads the log.
// What the packet thread got, not what was asked: root in a container
// without CAP_SYS_NICE is refused like anyone.
void report_realtime(int asked, int granted) {
    if (granted > 0) {
        spdlog::info("media: RTP packet thread at SCHED_FIFO priority {}", granted);
        return;
    }
    rlimit limit{};
    ::getrlimit(RLIMIT_RTPRIO, &limit);
    spdlog::warn(
        "media: RTP packet thread refused SCHED_FIFO priority {}, it runs at ordinary priority: RLIMIT_RTPRIO is "
        "{} (LimitRTPRIO= in the systemd unit), or the process lacks CAP_SYS_NICE",
        asked, static_cast<unsigned long>(limit.rlim_cur));
}

// The relay raises the open-file limit to what its port range needs (six
// sockets a call, 1,024 more for the rest) as far as the hard limit lets it.
// Below that, calls past the limit are refused with 503 (counted as "no media
// ports") while ports are free: said once at start, with the figures.
void report_file_room(const media::Relay& relay) {
    const auto room = relay.file_room();
    if (!room || room->calls >= room->range_calls) return;
    spdlog::warn("media: the open-file limit ({}) holds about {} calls, the rtp-port range {} (LimitNOFILE= in the "
                 "systemd unit, or ulimit -n)",
                 room->open_file_limit, room->calls, room->range_calls);
}

}  // namespace

struct Daemon::Parts {
    // --- media: the RTP relay (its own packet thread) ---
    std::unique_ptr<media::Relay> relay;
    // --- dns: name lookups for ws and sip (`ip host`, `ip name-server`) ---
    std::shared_ptr<dns::Resolver> resolver;
    // --- ws: the WebSocket connection pool ---
    std::unique_ptr<ws::Pool> pool;
    // --- stream: forks' sessions with speech servers, in their protocols, over the pool ---
    std::unique_ptr<stream::Streams> streams;
    // --- sip: the B2BUA ---
    std::unique_ptr<sip::B2bua> sip;
    // --- fork: the fork controller, joined to sip, stream and media ---
    std::unique_ptr<ForkWiring> fork;
};

Daemon::Daemon(std::string config_path, config::ConfigPtr config, int rtp_priority)
    : config_path_(std::move(config_path)),
      config_(std::move(config)),
      rtp_priority_(rtp_priority),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      shutdown_deadline_(io_),
      watchdog_timer_(io_),
      memory_timer_(io_),
      control_socket_(io_, commands_),
      metrics_server_(io_, metrics_),
      parts_(std::make_unique<Parts>()) {}

Daemon::~Daemon() = default;

int Daemon::run() {
    // A client that hangs up mid-answer must not kill the daemon.
    ::signal(SIGPIPE, SIG_IGN);
    register_commands();
    try {
        start_parts();
        control_socket_.open(config_->control_socket);
        apply_metrics_listen();
    } catch (const std::exception& e) {
        spdlog::critical("cannot start: {}", e.what());
        shutdown();
        io_.run();
        return 1;
    }

    std::function<void(boost::system::error_code, int)> on_signal = [&](auto ec, int signal_number) {
        if (ec) return;
        if (signal_number == SIGHUP) {
            reload();
        } else {
            spdlog::info("received {}, stopping", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
            shutdown();
            return;
        }
        signals_.async_wait(on_signal);
    };
    signals_.async_wait(on_signal);

    spdlog::info("voxforkd {} started with {}", VOXFORK_VERSION, config_path_);
    notify_systemd("READY=1");
    // Fed from this loop, so a loop that is stuck (a handler that never
    // returns, a stopped process) misses it; twice per interval, as systemd
    // advises, so one late wake-up is not fatal.
    if (const auto interval = watchdog_interval()) {
        spdlog::info("systemd watchdog: WATCHDOG=1 every {} ms", interval->count() / 2000);
        feed_watchdog(*interval / 2);
    }
    give_back_memory();
    io_.run();
    // Let the handlers of operations the parts cancelled on stop run now,
    // while every part still exists: destroying them later, with the
    // io_context, would release what they hold after its owner is gone.
    io_.restart();
    io_.poll();
    spdlog::info("voxforkd stopped");
    return 0;
}

void Daemon::start_parts() {
    // Each part is created here from the configuration, in dependency order:
    // media, ws, sip, fork.

    // --- media ---
    media::RelayOptions relay_options;
    relay_options.bind_address = config_->voip.sip.effective_media_address();
    relay_options.bind_address_ipv6 = config_->voip.sip.effective_media_address_ipv6().value_or("");
    relay_options.port_min = config_->voip.rtp_port_min;
    relay_options.port_max = config_->voip.rtp_port_max;
    relay_options.realtime_priority = rtp_priority_;
    parts_->relay = media::Relay::create(relay_options);
    parts_->relay->start();
    report_file_room(*parts_->relay);
    if (rtp_priority_ > 0) report_realtime(rtp_priority_, parts_->relay->realtime_priority());

    // --- ws: connections open on demand ---
    const ws::Settings ws_settings = ws::Settings::from_environment();
    if (ws_settings.time_scale != 1.0) {
        // A test hook: a production service must never run with it.
        spdlog::warn("VOXFORK_TEST_TIME_SCALE is set: WebSocket idle, ping and dead-connection timers run {}x "
                     "faster (for tests only)",
                     ws_settings.time_scale);
    }
    parts_->resolver = dns::Resolver::create(io_, config_);
    parts_->pool = ws::Pool::create(io_, config_, commands_, parts_->resolver, ws_settings);

    // --- sip: the B2BUA on this io_context; binds the SIP port now ---
    // Its `session target dns:` names go through the same resolver, so SIP
    // and WebSocket both follow `ip name-server` and `ip host`.
    auto resolve = [resolver = parts_->resolver](const std::string& host, dns::Resolver::Handler done) {
        resolver->resolve(host, std::move(done));
    };
    parts_->sip = std::make_unique<sip::B2bua>(io_, config_, *parts_->relay, commands_, std::move(resolve));
    if (std::string error; !parts_->sip->start(error)) throw std::runtime_error(error);

    // --- fork ---
    parts_->streams = stream::Streams::create(io_, *parts_->pool, config_);
    parts_->fork =
        std::make_unique<ForkWiring>(io_, config_, *parts_->sip, *parts_->streams, *parts_->relay, commands_);

    // --- metrics: read from the parts' counters at each scrape ---
    add_metric_collectors(metrics_, *parts_->sip, *parts_->relay, *parts_->pool, parts_->fork->controller());
}

void Daemon::apply_metrics_listen() {
    const auto& listen = config_->metrics_listen;
    if (!listen) {
        if (metrics_server_.is_open()) spdlog::info("metrics: endpoint closed");
        return metrics_server_.close();
    }
    const std::string address = config::format_ipv4(listen->address);
    if (metrics_server_.is_open() && metrics_server_.port() == listen->port && metrics_address_ == address) return;
    metrics_server_.open(address, listen->port);
    metrics_address_ = address;
}

void Daemon::register_commands() {
    commands_.add("show running-config", "the configuration in effect", 0, [this](const ops::CommandArgs&) {
        return ops::CommandOutput{config::print(*config_, config::Secrets::masked), config::to_json(*config_)};
    });
    commands_.add("show running-config all", "the configuration in effect, defaults included", 0,
                  [this](const ops::CommandArgs&) {
                      const auto text = config::print(*config_, config::Secrets::masked, config::Defaults::shown);
                      return ops::CommandOutput{text, config::to_json(*config_)};
                  });
    commands_.add("show version", "the daemon's version", 0, [](const ops::CommandArgs&) {
        return ops::CommandOutput{std::string("voxforkd ") + VOXFORK_VERSION + "\n", {{"version", VOXFORK_VERSION}}};
    });
    commands_.add("show hostname", "the configured hostname (the client's prompt)", 0, [this](const ops::CommandArgs&) {
        return ops::CommandOutput{config_->hostname + "\n", {{"hostname", config_->hostname}}};
    });
    commands_.add("help", "the commands this daemon knows", 0, [this](const ops::CommandArgs&) {
        return ops::CommandOutput{commands_.help(), {}};
    });
    // One-line help for `?` on keywords that begin several commands.
    commands_.describe("show", "show the daemon's state, configuration and counters");
    commands_.describe("clear", "reset counters or close a connection");
    commands_.describe("show voip", "speech-server forking: connections, forks, statistics");
    commands_.describe("show voip stream-service", "speech-server forking: connections, forks, statistics");
    commands_.describe("clear voip", "speech-server forking: counters, connections");
    commands_.describe("clear voip stream-service", "speech-server forking: counters, connections");
    std::string dataplane = "show platform";
    for (const char* word : {"", "hardware", "qfp", "active", "feature", "sbc", "fork"}) {
        if (*word) dataplane += std::string(" ") + word;
        commands_.describe(dataplane, "dataplane counters: relayed and forked packets");
    }
}

void Daemon::reload() {
    auto result = config::parse_file(config_path_);
    if (!result.errors.empty()) {
        for (const auto& error : result.errors) spdlog::error("{}", error.to_string());
        spdlog::error("reload of {} failed with {} error(s); keeping the running configuration", config_path_,
                      result.errors.size());
        return;
    }
    const auto& next = *result.config;
    if (next.control_socket != config_->control_socket)
        spdlog::warn("control-socket changed to {}: takes effect at the next start", next.control_socket);
    const auto& sip = next.voip.sip;
    const auto& running = config_->voip.sip;
    if (sip.control_address != running.control_address || sip.control_address_ipv6 != running.control_address_ipv6 ||
        sip.listen_port != running.listen_port || next.voip.rtp_port_min != config_->voip.rtp_port_min ||
        next.voip.rtp_port_max != config_->voip.rtp_port_max)
        spdlog::warn("bind control source-address, listen-port non-secure and rtp-port range changes take effect "
                     "at the next start");
    apply_media_addresses(next);
    const bool new_tag = next.hostname != config_->hostname;
    config_ = std::move(result.config);
    ops::set_log_level(config_->logging_level);
    if (new_tag) ops::set_log_tag(config_->hostname);  // voxforkd.conf(5): hostname is the log tag
    // Parts pick up the new configuration here (dial-peers, profiles, ...).
    if (parts_->resolver) parts_->resolver->reload(config_);
    if (parts_->pool) parts_->pool->reload(config_);
    if (parts_->streams) parts_->streams->reload(config_);
    if (parts_->sip) parts_->sip->reload(config_);
    if (parts_->fork) parts_->fork->reload(config_);
    try {
        apply_metrics_listen();
    } catch (const std::exception& e) {
        // The calls go on; the operator reads why the endpoint is not there.
        spdlog::error("{}", e.what());
    }
    spdlog::info("configuration reloaded from {}", config_path_);
}

// `bind media source-address` (either family, or the control address it
// defaults to) takes effect at a reload: calls set up from then on bind
// their RTP there, calls up keep theirs. An address the host does not have
// is refused and the relay keeps the old ones.
void Daemon::apply_media_addresses(const config::Config& next) {
    if (!parts_->relay) return;
    const std::string ipv4 = next.voip.sip.effective_media_address();
    const std::string ipv6 = next.voip.sip.effective_media_address_ipv6().value_or("");
    const auto text = [](const std::optional<net::Address>& address) {
        return address ? address->to_string() : std::string("none");
    };
    const auto old_v4 = parts_->relay->address(net::Family::v4), old_v6 = parts_->relay->address(net::Family::v6);
    if (net::Address::parse(ipv4) == old_v4 && net::Address::parse(ipv6) == old_v6) return;
    std::string error;
    if (!parts_->relay->set_addresses(ipv4, ipv6, error)) {
        spdlog::error("{}: RTP stays on IPv4 {}, IPv6 {}", error, text(old_v4), text(old_v6));
        return;
    }
    spdlog::info("media: new calls' RTP on IPv4 {}, IPv6 {} (calls up keep theirs)",
                 text(parts_->relay->address(net::Family::v4)), text(parts_->relay->address(net::Family::v6)));
}

void Daemon::shutdown() {
    if (stopping_) return;
    stopping_ = true;
    notify_systemd("STOPPING=1");
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    control_socket_.close();
    metrics_server_.close();

    // A part that cannot finish its goodbyes (a peer that never answers the
    // BYE, a server that never reads) must not keep the daemon alive.
    shutdown_deadline_.expires_after(std::chrono::seconds(10));
    shutdown_deadline_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        spdlog::warn("shutdown took too long; stopping now");
        finish_shutdown();
    });

    // In order: calls are released with BYE (their forks send STOP "Call
    // ended" as they go), then the WebSocket connections close, then media.
    auto after_sip = [this] {
        if (parts_->fork) parts_->fork->stop();
        if (parts_->pool) return parts_->pool->stop([this] { finish_shutdown(); });
        finish_shutdown();
    };
    if (parts_->sip) return parts_->sip->stop(after_sip);
    after_sip();
}

void Daemon::feed_watchdog(std::chrono::microseconds period) {
    notify_systemd("WATCHDOG=1");
    watchdog_timer_.expires_after(period);
    watchdog_timer_.async_wait([this, period](boost::system::error_code ec) {
        if (!ec) feed_watchdog(period);
    });
}

// glibc keeps what a burst freed (a flood of large SIP messages: sofia holds
// each for its transaction's 32 s, then frees it) in its arenas for good:
// 2,000 OPTIONS with a 60 KB header left 140 MB resident long after the last
// was freed. Once freed memory passes memory_kept_free it is returned;
// checking costs a walk of the arenas' bins every memory_check_interval, and
// the packet path, which never allocates, takes no malloc lock meanwhile.
void Daemon::give_back_memory() {
    constexpr std::size_t memory_kept_free = 8 * 1024 * 1024;
    constexpr std::chrono::seconds memory_check_interval{10};
    if (::mallinfo2().fordblks > memory_kept_free) ::malloc_trim(0);
    memory_timer_.expires_after(memory_check_interval);
    memory_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) give_back_memory();
    });
}

void Daemon::finish_shutdown() {
    if (parts_->relay) parts_->relay->stop();
    shutdown_deadline_.cancel();
    watchdog_timer_.cancel();
    memory_timer_.cancel();
    io_.stop();
}

}  // namespace voxfork
