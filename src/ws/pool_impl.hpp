// The pool's private state. pool.cpp holds the user side (attach, detach,
// connect outcome, stop); connection.cpp the life of an open connection (send
// path, read loop, timers, closing).
#pragma once

#include <chrono>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <voxfork/ops.hpp>
#include <voxfork/ws.hpp>

#include "handed_ring.hpp"
#include "link.hpp"
#include "send_queue.hpp"
#include "views.hpp"

namespace voxfork::ws::detail {

using Clock = std::chrono::steady_clock;

// Why a connection ended: history reason, fork reason, counter and trace.
enum class CloseCause { idle, clear, remote, tcp, protocol, shutdown, done };

struct Connection;

// The pool's Output for one connection (what its handler writes to).
class ConnectionOutput final : public Output {
public:
    ConnectionOutput(class PoolImpl& pool, Connection& conn) : pool_(pool), conn_(conn) {}
    void send_binary(std::uint32_t tag, std::span<const std::uint8_t> message) override;
    void send_text(std::string text) override;
    void close_when_sent() override;
    void drop() override;
    void replayed(std::uint64_t frames) override;
    std::size_t room() const override;
    void reconnect() override;
    void restored() override;

private:
    PoolImpl& pool_;
    Connection& conn_;
};

struct Connection {
    Connection(boost::asio::io_context& io, std::size_t queue_frames, class PoolImpl& pool)
        : queue(queue_frames), output(pool, *this), tick(io), close_guard(io), retry(io) {}

    std::uint32_t id = 0;
    ConnectionKey key;
    Statistics::Frames* frames = nullptr;  // its protocol's counters, in the pool's by_protocol_
    std::string url;
    int idle_minutes = 30;
    int max_users = 1;
    ConnState state = ConnState::connecting;
    std::shared_ptr<Attempt> attempt;
    std::unique_ptr<Link> link;
    std::unique_ptr<Handler> handler;  // the protocol's
    SendQueue queue;
    ConnectionOutput output;
    std::vector<UserHandle> users;  // attached, in order
    std::uint64_t total_sessions = 0;
    bool orphan = false;   // the pool is gone: late handlers do nothing
    bool writing = false;  // a text message is being written
    bool ping_in_flight = false;
    bool close_when_sent = false;  // the protocol is done: close once the queue is empty
    BinarySlot write_slot;
    std::string write_text;
    std::string local_address, server_address, tls_version = "none", cipher = "none";
    std::time_t opened_at = 0;
    Clock::time_point last_rx{}, last_ping{}, idle_since{};
    bool scheduled = false;  // in the drain rounds' schedule (PoolImpl::schedule_)
    boost::asio::steady_timer tick;
    boost::asio::steady_timer close_guard;

    // Continuity (docs/stream.md): reconnecting a lost connection in place.
    ProfilePtr profile;  // what it was opened with, for the reconnects
    std::uint64_t link_generation = 0;     // a handler of an earlier link finds it changed and does nothing
    std::vector<std::unique_ptr<Link>> lost_links;  // aborted, their handlers finishing
    std::string_view lost_reason;          // what the users are told if the window ends
    Clock::time_point window_start{};      // the reconnect window counts from here
    Clock::time_point restored_at{};       // the last reconnect
    Clock::duration backoff{};
    int window_seconds = 0;        // of the reconnect under way
    // The last binary messages handed to the link, for those a loss leaves
    // unacknowledged (sized by the handler's unacknowledged_kept()).
    HandedRing handed;
    // Asked by the server: the users are not told of it, and not told it
    // came back; until it has, its failure is `Connection closed`.
    bool quiet_reconnect = false;
    bool users_interrupted = false;  // told of a loss, not yet of its end
    boost::asio::steady_timer retry;

    // Frames dropped since the last warning about them, by where: the log
    // says why `Frames dropped` grew (one line per connection per 10 s at most).
    struct Drops {
        std::uint64_t queue_full = 0;  // the send queue's oldest, under back-pressure
        std::uint64_t handler = 0;     // its media ring or outage buffer was full
        std::uint64_t unsent = 0;      // unsent at a loss, and the handler could not keep them
        Clock::time_point warned_at{};
        bool any() const { return queue_full + handler + unsent > 0; }
    } drops;
};

struct User {
    UserHandle handle = 0;
    std::uint32_t connection = 0;
    CallLabel label;
    AttachCallback pending;  // set until the connection opens or fails
};

class PoolImpl final : public Pool {
public:
    PoolImpl(boost::asio::io_context& io, config::ConfigPtr config, ops::CommandRegistry& commands,
             std::shared_ptr<dns::Resolver> resolver, Settings settings);
    ~PoolImpl() override;

    void set_observer(Observer* observer) override { observer_ = observer; }
    UserHandle attach(const ConnectionKey& key, const CallLabel& label, int max_users, HandlerFactory make_handler,
                      AttachCallback done) override;
    Output* output(std::uint32_t connection_id) override;
    void detach(UserHandle user) override;
    void fork_started() override;
    void fork_failed() override;
    void fork_ended() override;
    void fork_resumed() override { ++counts_.forks_resumed; }
    Statistics statistics() const override;
    void reload(config::ConfigPtr config) override;
    void stop(std::function<void()> done) override;

    // For the show/clear commands (commands.cpp).
    // Open connections only (what the connection tables list), or also
    // those still connecting or closing.
    enum class Connections { open, all };
    std::vector<ConnectionView> connection_views(Connections which) const;
    const std::deque<HistoryEntry>& history() const { return history_; }
    void clear_statistics();
    bool clear_connection(std::uint32_t id);

    // The send path of one connection (ConnectionOutput's).
    void send_binary(Connection& conn, std::uint32_t tag, std::span<const std::uint8_t> message);
    void send_text(Connection& conn, std::string text);
    void close_when_sent(Connection& conn);
    void drop(Connection& conn);

private:
    using ConnPtr = std::shared_ptr<Connection>;

    // pool.cpp
    // The profile a connection opens with: the configuration's, or its defaults.
    ProfilePtr profile_of(std::uint32_t tag) const;
    ConnPtr open_connection(const ConnectionKey& key, int max_users,
                            const HandlerFactory& make_handler);
    void on_connect_outcome(const ConnPtr& conn, ConnectOutcome outcome);
    // Removes a connection that never opened; its users get `why`.
    void fail_users(const ConnPtr& conn, std::string_view why);

    // connection.cpp
    void start_session(const ConnPtr& conn);
    void drain_handler(Connection& conn);
    void pump(const ConnPtr& conn);
    void write_next(const ConnPtr& conn);
    void count_sent(Connection& conn, std::uint32_t tag, std::size_t bytes);
    // A binary message into the link's write batch (a copy kept, see Connection::handed).
    void hand(Connection& conn, std::uint32_t tag, std::span<const std::uint8_t> message);
    // At a loss: a message the server cannot have had goes back to the handler, or is dropped.
    void give_back(Connection& conn, std::uint32_t tag, std::span<const std::uint8_t> message);
    void read_next(const ConnPtr& conn);
    void arm_tick(const ConnPtr& conn);
    void on_tick(const ConnPtr& conn);
    void arm_drain_timer();
    // Back into the schedule after a round served it: an open connection when
    // its handler next needs serving, a reconnecting one the next round.
    void reschedule(const ConnPtr& conn, Clock::time_point now);
    void schedule(const ConnPtr& conn, Clock::time_point at);
    // The warning for the frames a connection dropped, when due (or `now_anyway`).
    void warn_drops(Connection& conn, Clock::time_point now, bool now_anyway = false);
    void close_connection(const ConnPtr& conn, CloseCause cause);
    void finish(const ConnPtr& conn);
    // Continuity (continuity.cpp).
    bool reconnects(const Connection& conn, CloseCause cause) const;
    void interrupt(const ConnPtr& conn, std::string_view reason);
    void reconnect_on_request(Connection& conn);
    // The handler's streams are back: the users hear it if they heard of the loss.
    void restored(Connection& conn);
    // The old link goes (its handlers find another generation), the handler keeps its audio.
    // `acknowledged`: the lost link's bytes its server's TCP acknowledged, if known.
    void retire_link(const ConnPtr& conn, std::optional<std::uint64_t> acknowledged);
    void schedule_reconnect(const ConnPtr& conn);
    void reconnect(const ConnPtr& conn);
    void on_reconnect_outcome(const ConnPtr& conn, ConnectOutcome outcome);
    // The window ended (or the connection is given up): its users get the loss's reason.
    void give_up(const ConnPtr& conn);
    void count_failure(const Connection& conn, const ConnectOutcome& outcome);
    ConnectRequest request_for(const Connection& conn) const;
    friend class ConnectionOutput;
    Clock::duration seconds(double s) const;

    boost::asio::io_context& io_;
    config::ConfigPtr config_;
    Settings settings_;
    Observer* observer_ = nullptr;
    std::shared_ptr<dns::Resolver> resolver_;
    std::map<std::uint32_t, ConnPtr> connections_;  // connecting, open or closing
    std::unordered_map<UserHandle, User> users_;
    std::deque<HistoryEntry> history_;
    boost::asio::steady_timer drain_timer_;
    bool drain_armed_ = false;
    // The drain rounds' schedule, a min-heap by time: every open or
    // reconnecting connection once, at when it next needs serving
    // (Handler::next_service). A round takes only those due, so a paced
    // connection costs nothing between its frames, however many there are
    // (walking all 800 of 400 raw calls every 3 ms took an eighth of the io
    // thread). A connection that ended leaves at its next turn.
    struct Due {
        Clock::time_point at;
        ConnPtr conn;
        bool operator<(const Due& other) const { return at > other.at; }  // the earliest on top
    };
    std::vector<Due> schedule_;
    // The round's connections, taken from the schedule before any is served
    // (serving one may end others); kept between rounds so it allocates nothing.
    std::vector<ConnPtr> drain_round_;
    bool stopping_ = false;
    std::function<void()> stop_done_;
    boost::asio::steady_timer stop_timer_;
    UserHandle next_user_ = 1;
    std::uint32_t next_connection_ = 1;

    Statistics counts_;  // the non-alarmed ones, frames aside
    std::map<std::string, Statistics::Frames> by_protocol_;  // frames per protocol (nodes never move)
    ops::AlarmedCounter tcp_failures_{"TCP connection failures"};
    ops::AlarmedCounter http_failures_{"HTTP connection failures"};
    ops::AlarmedCounter remote_closures_{"Remote WebSocket closures"};
    ops::AlarmedCounter tcp_closures_{"TCP closures"};
};

}  // namespace voxfork::ws::detail
