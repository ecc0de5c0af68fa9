// The pool's private state. pool.cpp holds the call side (attach, detach,
// control, connect outcome, stop); connection.cpp the life of an open
// connection (send path, read loop, timers, closing).
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

#include "link.hpp"
#include "resolver.hpp"
#include "send_queue.hpp"
#include "views.hpp"

namespace voxfork::ws::detail {

using Clock = std::chrono::steady_clock;

// The member `key` of a JSON object; nullptr when `j` is no object or has none.
template <typename Json>
const Json* json_member(const Json& j, const char* key) noexcept {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

// Why a connection ended: history reason, fork reason, counter and trace.
enum class CloseCause { idle, clear, remote, tcp, protocol, shutdown };

struct ChannelState {
    std::uint32_t id = 0;
    CallHandle call = 0;
    bool paused = false;
    bool stopped = false;  // by a STOP from either side: nothing more goes out for it
    ChannelCounters counters;
};

// A STOP the server sent is told to the observer once the server has stopped
// every channel of that call on the connection. A lone STOP waits this long for
// its pair (the drain timer tells it then), so a server that stops both
// channels with two writes is not answered with a STOP it did not need.
constexpr std::chrono::milliseconds server_stop_grace{50};

struct ServerStop {
    CallHandle call = 0;
    std::uint32_t channel = 0;
    std::string reason;
    Clock::time_point read_at;  // each waits its own grace
};

struct Connection {
    Connection(boost::asio::io_context& io, std::size_t queue_frames)
        : ring(std::make_shared<AudioRing>(queue_frames)), queue(queue_frames), tick(io), close_guard(io) {}

    std::uint32_t id = 0;
    ConnectionKey key;
    std::string url;
    int idle_minutes = 30;
    ConnState state = ConnState::connecting;
    std::shared_ptr<Attempt> attempt;
    std::unique_ptr<Link> link;
    std::shared_ptr<AudioRing> ring;
    SendQueue queue;
    std::vector<CallHandle> calls;  // attached, in order
    // The channels of those calls (at most 2 x calls-threshold = 40), kept
    // here rather than in a pool-wide map: the send path looks one up per
    // frame, and a short contiguous scan costs less than a hash lookup that
    // misses the cache.
    std::vector<ChannelState> channels;
    std::vector<ServerStop> server_stops;  // read, not yet told; oldest first
    std::uint64_t total_sessions = 0;
    bool orphan = false;   // the pool is gone: late handlers do nothing
    bool writing = false;  // a control message is being written
    bool ping_in_flight = false;
    AudioSlot write_slot;
    std::string write_text;
    std::string local_address, server_address, tls_version = "none", cipher = "none";
    std::time_t opened_at = 0;
    Clock::time_point last_rx{}, last_ping{}, idle_since{};
    boost::asio::steady_timer tick;
    boost::asio::steady_timer close_guard;

    ChannelState* channel(std::uint32_t id) noexcept {
        return const_cast<ChannelState*>(std::as_const(*this).channel(id));
    }
    const ChannelState* channel(std::uint32_t id) const noexcept {
        for (const ChannelState& c : channels)
            if (c.id == id) return &c;
        return nullptr;
    }
};

struct Call {
    CallHandle handle = 0;
    std::uint32_t connection = 0;
    std::uint32_t caller = 0, callee = 0;
    CallLabel label;
    AttachCallback pending;  // set until the connection opens or fails
};

class PoolImpl final : public Pool {
public:
    PoolImpl(boost::asio::io_context& io, config::ConfigPtr config, ops::CommandRegistry& commands, Settings settings);
    ~PoolImpl() override;

    void set_observer(Observer* observer) override { observer_ = observer; }
    CallHandle attach(const ConnectionKey& key, const CallLabel& label, AttachCallback done) override;
    void send_control(CallHandle call, const nlohmann::ordered_json& message) override;
    void resolve(const std::string& name, std::function<void(std::vector<std::uint32_t>)> done) override {
        resolver_->resolve(name, std::move(done));
    }
    void detach(CallHandle call) override;
    void fork_started() override;
    void fork_failed() override;
    void fork_ended() override;
    Statistics statistics() const override;
    ChannelCounters channel_counters(std::uint32_t channel) const override;
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

private:
    using ConnPtr = std::shared_ptr<Connection>;

    // pool.cpp
    ConnPtr open_connection(const ConnectionKey& key, const config::StreamServiceProfile& profile);
    void on_connect_outcome(const ConnPtr& conn, ConnectOutcome outcome);
    std::uint32_t next_channel();
    void erase_call(const Call& call, Connection& conn);
    // Removes a connection that never opened; its calls get `why`.
    void fail_calls(const ConnPtr& conn, std::string_view why);

    // connection.cpp
    void start_session(const ConnPtr& conn);
    void drain_ring(Connection& conn);
    void pump(const ConnPtr& conn);
    void write_next(const ConnPtr& conn);
    void count_sent(std::size_t bytes, ChannelCounters* channel);
    void read_next(const ConnPtr& conn);
    void on_text(Connection& conn, std::string_view text);
    // Tells the held server STOPs of calls with no channel left running on
    // the connection, and those read before `read_before`.
    void tell_server_stops(Connection& conn, Clock::time_point read_before);
    void arm_tick(const ConnPtr& conn);
    void on_tick(const ConnPtr& conn);
    void arm_drain_timer();
    void close_connection(const ConnPtr& conn, CloseCause cause);
    void finish(const ConnPtr& conn);
    Clock::duration seconds(double s) const;

    boost::asio::io_context& io_;
    config::ConfigPtr config_;
    Settings settings_;
    Observer* observer_ = nullptr;
    std::shared_ptr<Resolver> resolver_;
    std::map<std::uint32_t, ConnPtr> connections_;  // connecting, open or closing
    std::unordered_map<CallHandle, Call> calls_;
    std::deque<HistoryEntry> history_;
    boost::asio::steady_timer drain_timer_;
    bool drain_armed_ = false;
    bool stopping_ = false;
    std::function<void()> stop_done_;
    boost::asio::steady_timer stop_timer_;
    CallHandle next_call_ = 1;
    std::uint32_t next_connection_ = 1;

    Statistics counts_;  // the non-alarmed ones
    ops::AlarmedCounter tcp_failures_{"TCP connection failures"};
    ops::AlarmedCounter http_failures_{"HTTP connection failures"};
    ops::AlarmedCounter remote_closures_{"Remote WebSocket closures"};
    ops::AlarmedCounter tcp_closures_{"TCP closures"};
};

}  // namespace voxfork::ws::detail
