// The WebSocket connection pool to speech servers (../shared/spec/wire.md):
// name resolution, TCP, proxy CONNECT, TLS, the voxfork.v1 upgrade, shared
// connections with a calls threshold, send queues, pings and idle timers.
//
// Threads: everything here runs on the control-plane io_context thread, except
// AudioSink::send, which the media packet thread calls (one thread per sink,
// no lock, no allocation). ws knows nothing of SIP or of what a fork is.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <voxfork/config.hpp>
#include <voxfork/reasons.hpp>

namespace boost::asio {
class io_context;
}

namespace voxfork::ops {
class CommandRegistry;
}

namespace voxfork::ws {

// Calls share a connection when all of these are equal.
struct ConnectionKey {
    std::string host;  // IPv4 literal or a name
    std::uint16_t port = 0;
    bool secure = false;
    std::string path = "/";
    std::string token;  // empty: no Authorization header
    std::uint32_t profile_tag = 0;
    bool operator==(const ConnectionKey&) const = default;
    auto operator<=>(const ConnectionKey&) const = default;
};

// Where the media thread puts a call's audio. One sink per connection, shared
// by its calls; send() is called from one thread only (the media thread).
// A frame is copied into a fixed slot; returns false when it was dropped
// (connection gone, payload over max_payload, ring full: counted as dropped).
class AudioSink {
public:
    static constexpr std::size_t max_payload = 480;  // 60 ms of G.711
    virtual ~AudioSink() = default;
    virtual bool send(std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                      std::span<const std::uint8_t> payload) noexcept = 0;
};

using CallHandle = std::uint64_t;  // never 0

// Shown under a connection by `show voip stream-service connection id`.
struct CallLabel {
    std::uint64_t anchor_callid = 0;
    std::uint64_t fork_session_id = 0;
};

struct AttachResult {
    CallHandle call = 0;
    std::string reason;  // empty on success, else a forking.md reason string
    std::uint32_t connection_id = 0;
    std::uint32_t caller_channel = 0;
    std::uint32_t callee_channel = 0;
    std::shared_ptr<AudioSink> audio;  // hand to the media thread
    bool ok() const { return reason.empty(); }
};
using AttachCallback = std::function<void(const AttachResult&)>;

// Events back to the fork part, on the io thread.
class Observer {
public:
    virtual ~Observer() = default;
    // The call's connection is gone (`Connection closed` or `TCP Connection
    // closed`); the call is detached already.
    virtual void on_connection_lost(CallHandle call, std::string_view reason) = 0;
    // The server sent STOP for one of the call's channels; told once the
    // frame after it was read (or 50 ms later when none follows), so a STOP of the
    // other channel sent with it is known first.
    virtual void on_channel_stopped(CallHandle call, std::uint32_t channel, std::string_view server_reason) = 0;
};

// `show voip stream-service statistics`, in its order.
struct Statistics {
    std::uint64_t connections_active = 0;
    std::uint64_t connections_created = 0;
    std::uint64_t connections_closed = 0;
    std::uint64_t forks_active = 0;
    std::uint64_t forks_started = 0;
    std::uint64_t forks_failed = 0;
    std::uint64_t frames_sent = 0;
    std::uint64_t bytes_sent = 0;  // audio frame bytes, 12-byte header included
    std::uint64_t frames_dropped = 0;
    std::uint64_t tcp_connection_failures = 0;
    std::uint64_t http_connection_failures = 0;
    std::uint64_t remote_websocket_closures = 0;
    std::uint64_t tcp_closures = 0;
};
// The 13 lines of the show command.
std::string format_statistics(const Statistics& s);

struct ChannelCounters {
    std::uint64_t frames_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t frames_dropped = 0;
};

// Timing knobs. Tests shrink time with `time_scale` (a minute lasts
// 60 s / time_scale; it scales idle timeout, ping and dead-connection timers,
// not the connect timeout).
struct Settings {
    double time_scale = 1.0;
    std::chrono::milliseconds connect_timeout{10000};
    // How often queued audio is written. Each connection's write costs the
    // same few µs of TCP however many frames it carries, so a longer interval
    // is cheaper per frame and later by its length (docs/performance.md).
    std::chrono::milliseconds drain_interval{3};
    // time_scale from VOXFORK_TEST_TIME_SCALE (test-only; unset or bad: 1).
    static Settings from_environment();
};

class Pool {
public:
    // Registers the show/clear commands with `commands`.
    static std::unique_ptr<Pool> create(boost::asio::io_context& io, config::ConfigPtr config,
                                        ops::CommandRegistry& commands, Settings settings = {});
    virtual ~Pool() = default;

    virtual void set_observer(Observer* observer) = 0;

    // Picks or opens a connection for `key` and allocates the call's two
    // channels. `done` runs later on the io thread, once, unless detach() came first.
    virtual CallHandle attach(const ConnectionKey& key, const CallLabel& label, AttachCallback done) = 0;
    // A control message (text frame). STOP marks its channel stopped (later
    // audio for it is discarded; not sent when the server stopped that channel
    // itself); PAUSE/RESUME gate its audio likewise.
    // Never dropped; ordered after audio the sink accepted before this call.
    virtual void send_control(CallHandle call, const nlohmann::ordered_json& message) = 0;
    // The call leaves its connection (its audio is discarded from now on).
    virtual void detach(CallHandle call) = 0;
    // DNS through c-ares and `ip name-server`, as for the pool's own
    // connections; for other parts (SIP's `session target dns:`). Addresses
    // in host byte order, empty on failure; `done` runs on the io_context.
    virtual void resolve(const std::string& name, std::function<void(std::vector<std::uint32_t>)> done) = 0;

    // For the four fork counters of the statistics.
    virtual void fork_started() = 0;
    virtual void fork_failed() = 0;
    virtual void fork_ended() = 0;  // an active fork stopped

    virtual Statistics statistics() const = 0;
    virtual ChannelCounters channel_counters(std::uint32_t channel) const = 0;

    // New connections use the new configuration; open ones keep theirs.
    virtual void reload(config::ConfigPtr config) = 0;
    // Closes every connection (reason `shutdown`), then calls `done`.
    virtual void stop(std::function<void()> done) = 0;
};

}  // namespace voxfork::ws
