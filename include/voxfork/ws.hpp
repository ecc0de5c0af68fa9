// The WebSocket transport to speech servers: TCP (racing a name's addresses), proxy
// CONNECT, TLS, the upgrade with the headers a protocol asks for, shared
// connections with a per-connection user limit, the batched send path, pings,
// idle timers, connection counters and the connection shows. It knows no
// speech-server protocol: each connection carries a Handler made by the
// protocol (src/stream/...) that frames its audio and reads what the server
// sends.
//
// Threads: everything here runs on the control-plane io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <voxfork/config.hpp>
#include <voxfork/dns.hpp>
#include <voxfork/reasons.hpp>

namespace boost::asio {
class io_context;
}

namespace voxfork::ops {
class CommandRegistry;
}

namespace voxfork::ws {

// Users share a connection when all of these are equal (and the connection
// has room for another, see Pool::attach).
struct ConnectionKey {
    std::string host;  // an IP literal (IPv6 bare, without brackets) or a name
    std::uint16_t port = 0;
    bool secure = false;
    std::string path = "/";
    std::uint32_t profile_tag = 0;
    // What the protocol puts in the upgrade request.
    std::string subprotocol;  // Sec-WebSocket-Protocol; empty: none
    std::vector<std::pair<std::string, std::string>> headers;
    std::string token;  // the credential those carry, shown masked; empty: none
    // The protocol's name (voxfork-v1, audiohook, raw): the pool counts
    // frames per protocol under it and knows nothing else of it.
    std::string protocol;
    bool operator==(const ConnectionKey&) const = default;
};

// `host:port` as a URL, a Host header, a CONNECT target or a signature's
// @authority write it: an IPv6 literal (kept bare in a ConnectionKey) in
// brackets, `[2001:db8::1]:443`; a name or an IPv4 literal as it is.
inline std::string authority(std::string_view host, std::uint16_t port) {
    const bool ipv6 = host.find(':') != std::string_view::npos;
    return (ipv6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

// A user of a connection: one fork's session, or one of its channels.
using UserHandle = std::uint64_t;  // never 0

// Shown under a connection by `show voip stream-service connection id`.
struct CallLabel {
    std::uint64_t anchor_callid = 0;
    std::uint64_t fork_session_id = 0;
};

// Largest binary message the send path queues (a 12-byte voxfork-v1 header
// and 60 ms of G.711 fit).
inline constexpr std::size_t max_queued_binary = 512;

// The transport side of one open connection, as its Handler sees it.
class Output {
public:
    virtual ~Output() = default;
    // A binary message (at most max_queued_binary bytes). `tag` is the
    // protocol's name for the stream it belongs to: the handler hears with
    // it whether the message was sent or dropped. Under back-pressure the
    // oldest binary messages are dropped.
    virtual void send_binary(std::uint32_t tag, std::span<const std::uint8_t> message) = 0;
    // A text message: never dropped, and after every binary message the
    // handler has queued before it (the handler's drain() runs first).
    virtual void send_text(std::string text) = 0;
    // The protocol is done with the connection (it carried one fork): once
    // everything queued has gone, close 1000 `end`. Its users are not told.
    virtual void close_when_sent() = 0;
    // The protocol found the connection dead (its own pings went
    // unanswered): dropped at once, its users told `TCP Connection closed`.
    virtual void drop() = 0;
    // Continuity: the handler sent `frames` it had kept through an outage
    // (`Audio frames replayed`).
    virtual void replayed(std::uint64_t /*frames*/) {}
    // Binary messages a replay may send now: it goes no faster than the
    // connection drains, and leaves half the send queue for the live audio
    // after it, so neither pushes the other out.
    virtual std::size_t room() const { return SIZE_MAX; }
    // The server asked for a new connection (AudioHook's `reconnect`): the
    // link is closed (1000 `reconnect`) and the same connection reconnected
    // at once, with continuity, whatever the reconnect window (at least 5 s
    // of attempts); its users hear nothing unless it fails (then
    // `Connection closed`).
    virtual void reconnect() {}
    // Continuity: the handler's streams are taken again on the new link (a
    // handler whose restored_at_open() is false says when): the users hear
    // the loss is over.
    virtual void restored() {}
};

// The protocol's side of one connection, made by the protocol when the pool
// opens a connection for it. All calls come on the io thread.
class Handler {
public:
    virtual ~Handler() = default;
    // The connection is open; `out` stays valid until on_closed().
    virtual void on_open(Output& out) = 0;
    // Moves audio the media thread queued into `out`. Runs every drain
    // interval while open, and before each text message the pool queues.
    // Returns the frames the handler itself dropped since the last call.
    virtual std::uint64_t drain(Output& out) = 0;
    // A binary message of `tag` left for the socket, or was dropped.
    virtual void on_sent(std::uint32_t tag, std::size_t bytes) = 0;
    virtual void on_dropped(std::uint32_t tag) = 0;
    virtual void on_text(std::string_view text) = 0;
    // False: a protocol error; the pool closes the connection with 1003.
    virtual bool on_binary(std::span<const std::uint8_t> message) = 0;
    // Every drain interval while open, after drain().
    virtual void on_tick(std::chrono::steady_clock::time_point now) = 0;
    // When the pool need call drain() and on_tick() again, unless something
    // else happens on the connection first. `now` (the default): every drain
    // interval, as voxfork-v1 needs (its frames leave as they come). A
    // clock-paced protocol answers its next frame's time: its connections
    // then cost nothing between their frames.
    virtual std::chrono::steady_clock::time_point next_service(std::chrono::steady_clock::time_point now) const {
        return now;
    }
    // The connection is closing or gone: nothing more may be sent; its users
    // have been told.
    virtual void on_closed() = 0;

    // Continuity (docs/stream.md). A handler that can re-establish its streams
    // on a new connection says so; with the profile's `connection reconnect
    // window` above 0 the pool then reconnects a lost connection (same key,
    // fresh lookup, backoff) instead of ending it, and calls:
    //   on_interrupted()  the connection is lost; `out` is gone until on_open()
    //   keep()            every drain interval meanwhile: hold on to the audio
    //                     the media thread queued; returns frames dropped
    //   on_open(out)      connected again: re-establish, then replay
    // When the window ends without success on_closed() comes as usual.
    virtual bool resumable() const { return false; }
    // True: the streams are back once on_open() re-established them
    // (voxfork-v1 and raw send and go on). False: only once the server has
    // taken them (AudioHook's `opened`); the handler then calls out.restored().
    virtual bool restored_at_open() const { return true; }
    virtual void on_interrupted() {}
    virtual std::uint64_t keep() { return 0; }
    // Before each reconnect attempt: the upgrade's headers for it (a protocol
    // whose headers name a session or carry a signature makes new ones).
    virtual void prepare_reconnect(std::vector<std::pair<std::string, std::string>>& /*headers*/) {}
    // At the loss, before on_interrupted(), oldest first: each binary message
    // the server cannot have had, those the lost link's TCP never
    // acknowledged (plain TCP, when the handler asks: unacknowledged_kept()) and
    // those still waiting in the send queue. True: the handler keeps it for
    // its replay; false: it is dropped (counted in `Frames dropped`).
    virtual bool on_unsent(std::uint32_t /*tag*/, std::span<const std::uint8_t> /*message*/) { return false; }
    // Bytes of the last binary messages the pool keeps a copy of, to give
    // back those a loss leaves unacknowledged (0: none kept).
    virtual std::size_t unacknowledged_kept() const { return 0; }
};
using HandlerFactory = std::function<std::unique_ptr<Handler>()>;

struct AttachResult {
    UserHandle user = 0;
    std::string reason;  // empty on success, else a reason string of docs/controller.md
    std::uint32_t connection_id = 0;
    Handler* handler = nullptr;  // the connection's, made by the factory given to attach()
    bool ok() const { return reason.empty(); }
};
using AttachCallback = std::function<void(const AttachResult&)>;

// Events back to the users' owner, on the io thread.
class Observer {
public:
    virtual ~Observer() = default;
    // The user's connection is gone (`Connection closed` or `TCP Connection
    // closed`); the user is detached already.
    virtual void on_connection_lost(UserHandle user, std::string_view reason) = 0;
    // Continuity: the user's connection was lost and is being reconnected
    // (the user stays attached); then it is back, or on_connection_lost()
    // comes with the reason the loss had.
    virtual void on_connection_interrupted(UserHandle) {}
    virtual void on_connection_restored(UserHandle) {}
};

// `show voip stream-service statistics`, in its order.
struct Statistics {
    std::uint64_t connections_active = 0;
    std::uint64_t connections_created = 0;
    std::uint64_t connections_closed = 0;
    std::uint64_t forks_active = 0;
    std::uint64_t forks_started = 0;
    std::uint64_t forks_failed = 0;
    std::uint64_t frames_sent = 0;  // binary messages
    std::uint64_t bytes_sent = 0;  // binary message bytes (a voxfork-v1 frame's header included)
    std::uint64_t frames_dropped = 0;
    std::uint64_t tcp_connection_failures = 0;
    std::uint64_t http_connection_failures = 0;
    std::uint64_t remote_websocket_closures = 0;
    std::uint64_t tcp_closures = 0;
    // Continuity (docs/stream.md).
    std::uint64_t reconnect_attempts = 0;
    std::uint64_t reconnects_succeeded = 0;
    std::uint64_t forks_resumed = 0;  // forks re-established after a reconnect
    std::uint64_t frames_replayed = 0;
    // Not in the show's 13 lines; the metrics endpoint's.
    std::uint64_t connections_connecting = 0;
    std::uint64_t connections_closing = 0;
    struct Frames {
        std::uint64_t sent = 0;
        std::uint64_t bytes_sent = 0;
        std::uint64_t dropped = 0;
    };
    // Per protocol (ConnectionKey::protocol); frames_sent, bytes_sent and
    // frames_dropped above are their sums.
    std::map<std::string, Frames> by_protocol;
};
// The 17 lines of the show command.
std::string format_statistics(const Statistics& s);


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
    // Registers the show/clear commands with `commands`. Speech servers and
    // proxies are looked up through `resolver` (the daemon's, shared with SIP).
    static std::unique_ptr<Pool> create(boost::asio::io_context& io, config::ConfigPtr config,
                                        ops::CommandRegistry& commands, std::shared_ptr<dns::Resolver> resolver,
                                        Settings settings = {});
    virtual ~Pool() = default;

    virtual void set_observer(Observer* observer) = 0;

    // Picks the open or opening connection for `key` with the fewest users
    // below `max_users` (the lower id on a tie), or opens one whose handler
    // `make_handler` makes. `done` runs later on the io thread, once, unless
    // detach() came first.
    virtual UserHandle attach(const ConnectionKey& key, const CallLabel& label, int max_users,
                              HandlerFactory make_handler, AttachCallback done) = 0;
    // The user leaves its connection. The handler's queued audio is drained
    // first, so what it accepted before goes out.
    virtual void detach(UserHandle user) = 0;
    // The connection's Output, or nullptr when it is not open.
    virtual Output* output(std::uint32_t connection_id) = 0;
    // For the four fork counters of the statistics.
    virtual void fork_started() = 0;
    virtual void fork_failed() = 0;
    virtual void fork_ended() = 0;  // an active fork stopped
    virtual void fork_resumed() = 0;  // a fork went on after a reconnect

    virtual Statistics statistics() const = 0;

    // New connections use the new configuration; open ones keep theirs.
    virtual void reload(config::ConfigPtr config) = 0;
    // Closes every connection (reason `shutdown`), then calls `done`.
    virtual void stop(std::function<void()> done) = 0;
};

}  // namespace voxfork::ws
