// The call side of the pool: choosing or opening a connection for a call,
// channel ids, control messages, the outcome of a connection attempt, reload
// and stop.
#include <cstdlib>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "framing.hpp"
#include "pool_impl.hpp"

namespace voxfork::ws {

namespace asio = boost::asio;

Settings Settings::from_environment() {
    Settings s;
    // Test-only: shrinks the minute-scale timers so tests take seconds.
    if (const char* v = std::getenv("VOXFORK_TEST_TIME_SCALE")) {
        char* end = nullptr;
        const double scale = std::strtod(v, &end);
        if (end != v && scale >= 1.0 && scale <= 100000.0) s.time_scale = scale;
    }
    return s;
}

std::unique_ptr<Pool> Pool::create(asio::io_context& io, config::ConfigPtr config, ops::CommandRegistry& commands,
                                   std::shared_ptr<dns::Resolver> resolver, Settings settings) {
    return std::make_unique<detail::PoolImpl>(io, std::move(config), commands, std::move(resolver), settings);
}

}  // namespace voxfork::ws

namespace voxfork::ws::detail {

void register_commands(ops::CommandRegistry& commands, PoolImpl& pool);  // commands.cpp

PoolImpl::PoolImpl(asio::io_context& io, config::ConfigPtr config, ops::CommandRegistry& commands,
                   std::shared_ptr<dns::Resolver> resolver, Settings settings)
    : io_(io),
      config_(std::move(config)),
      settings_(settings),
      resolver_(std::move(resolver)),
      drain_timer_(io),
      stop_timer_(io) {
    register_commands(commands, *this);
}

PoolImpl::~PoolImpl() {
    for (auto& [id, conn] : connections_) {
        conn->orphan = true;
        if (conn->attempt) conn->attempt->cancel();
        if (conn->link) {
            conn->link->abort();
            conn->link->on_writable(nullptr);
        }
        if (conn->handler) conn->handler->on_closed();
        conn->tick.cancel();
        conn->close_guard.cancel();
        conn->retry.cancel();
    }
}

UserHandle PoolImpl::attach(const ConnectionKey& key, const CallLabel& label, int max_users,
                            HandlerFactory make_handler, AttachCallback done) {
    const UserHandle handle = next_user_++;
    if (stopping_) {
        asio::post(io_, [done = std::move(done), handle] {
            AttachResult r;
            r.user = handle;
            r.reason = reason::internal_error;
            done(r);
        });
        return handle;
    }
    std::vector<Candidate> candidates;
    for (const auto& [id, conn] : connections_) {
        // One being reconnected takes no new calls: they would wait out the outage.
        // One closing once its last messages are out (a per-fork protocol's
        // connection after its fork ended) belongs to that fork's handler.
        if (conn->key == key && !conn->close_when_sent &&
            (conn->state == ConnState::connecting || conn->state == ConnState::open))
            candidates.push_back({id, static_cast<int>(conn->users.size())});
    }
    ConnPtr conn;
    if (auto chosen = choose_connection(candidates, max_users)) {
        conn = connections_.at(*chosen);
    } else {
        conn = open_connection(key, max_users, make_handler);
    }

    User user;
    user.handle = handle;
    user.connection = conn->id;
    user.label = label;
    conn->users.push_back(handle);
    ++conn->total_sessions;

    if (conn->state == ConnState::open) {
        // The answer is always asynchronous, as for a new connection.
        asio::post(io_, [this, handle, done = std::move(done)] {
            auto it = users_.find(handle);
            if (it == users_.end()) return;  // detached meanwhile
            const auto& c = connections_.at(it->second.connection);
            done(AttachResult{handle, {}, c->id, c->handler.get()});
        });
    } else {
        user.pending = std::move(done);
    }
    users_.emplace(handle, std::move(user));
    return handle;
}

ProfilePtr PoolImpl::profile_of(std::uint32_t tag) const {
    if (auto it = config_->stream_service_profiles.find(tag); it != config_->stream_service_profiles.end())
        return ProfilePtr(config_, &it->second);
    auto defaults = std::make_shared<config::StreamServiceProfile>();  // removed from the configuration since
    defaults->tag = tag;
    return defaults;
}

PoolImpl::ConnPtr PoolImpl::open_connection(const ConnectionKey& key, int max_users,
                                            const HandlerFactory& make_handler) {
    auto conn = std::make_shared<Connection>(io_, queue_frames_for(max_users), *this);
    conn->id = next_connection_++;
    conn->key = key;
    conn->frames = &by_protocol_[key.protocol];
    conn->max_users = max_users;
    conn->handler = make_handler();
    conn->url = url_of(key.host, key.port, key.secure);
    conn->profile = profile_of(key.profile_tag);
    conn->idle_minutes = conn->profile->idle_timeout_minutes;
    connections_[conn->id] = conn;

    spdlog::debug("ws: connection {} opening to {}", conn->id, conn->url);
    conn->attempt = connect(io_, resolver_, request_for(*conn),
                            [this, conn](ConnectOutcome outcome) { on_connect_outcome(conn, std::move(outcome)); });
    return conn;
}

void PoolImpl::on_connect_outcome(const ConnPtr& conn, ConnectOutcome outcome) {
    conn->attempt.reset();
    if (outcome.link) {
        conn->link = std::move(outcome.link);
        conn->local_address = outcome.local_address;
        conn->server_address = outcome.server_address;
        conn->tls_version = outcome.tls_version;
        conn->cipher = outcome.cipher;
        ops::trace_global("WebSocket Connection creation successful for " + conn->url);
        ++counts_.connections_created;
        start_session(conn);
        // Users waiting for it learn of it now, in attach order.
        for (UserHandle h : std::vector<UserHandle>(conn->users)) {
            auto it = users_.find(h);
            if (it == users_.end() || !it->second.pending) continue;
            AttachCallback done = std::move(it->second.pending);
            it->second.pending = nullptr;
            done(AttachResult{h, {}, conn->id, conn->handler.get()});
        }
        return;
    }

    spdlog::warn("ws: connection {} to {} failed at {}: {}", conn->id, conn->url, to_string(*outcome.failed),
                 outcome.detail);
    count_failure(*conn, outcome);
    fail_users(conn, classify_failure(*outcome.failed, outcome.http_status).reason);
}

// A reconnect attempt that fails is counted like any other connection attempt.
void PoolImpl::count_failure(const Connection& conn, const ConnectOutcome& outcome) {
    const Failure failure = classify_failure(*outcome.failed, outcome.http_status);
    ops::trace_global("WebSocket Connection creation failed for " + conn.url);
    if (failure.counter == FailureCounter::tcp) tcp_failures_.increment();
    if (failure.counter == FailureCounter::http) {
        http_failures_.increment();
        ops::trace_global("WebSocket Connection : " + std::to_string(http_failures_.value()) +
                          " HTTP connection failures");
    }
}

void PoolImpl::fail_users(const ConnPtr& conn, std::string_view why) {
    connections_.erase(conn->id);
    conn->handler->on_closed();
    for (UserHandle h : std::exchange(conn->users, {})) {
        auto it = users_.find(h);
        if (it == users_.end()) continue;
        AttachCallback done = std::move(it->second.pending);
        users_.erase(it);
        AttachResult r;
        r.user = h;
        r.reason = std::string(why);
        if (done) done(r);
    }
}

Output* PoolImpl::output(std::uint32_t connection_id) {
    auto it = connections_.find(connection_id);
    return it == connections_.end() || it->second->state != ConnState::open ? nullptr : &it->second->output;
}

void PoolImpl::detach(UserHandle handle) {
    auto it = users_.find(handle);
    if (it == users_.end()) return;
    auto cit = connections_.find(it->second.connection);
    if (cit != connections_.end()) {
        Connection& conn = *cit->second;
        std::erase(conn.users, handle);
        if (conn.users.empty()) conn.idle_since = Clock::now();
        // Nobody is left to wait for the reconnect.
        if (conn.users.empty() && conn.state == ConnState::reconnecting) {
            users_.erase(it);
            return give_up(cit->second);
        }
        pump(cit->second);
    }
    users_.erase(it);
}

void PoolImpl::fork_started() {
    ++counts_.forks_started;
    ++counts_.forks_active;
}

void PoolImpl::fork_failed() {
    ++counts_.forks_failed;
}

void PoolImpl::fork_ended() {
    if (counts_.forks_active > 0) --counts_.forks_active;
}

Statistics PoolImpl::statistics() const {
    Statistics s = counts_;
    s.connections_active = 0;
    for (const auto& [id, conn] : connections_) {
        s.connections_active += conn->state == ConnState::open;
        s.connections_connecting += conn->state == ConnState::connecting;
        s.connections_closing += conn->state == ConnState::closing;
    }
    s.by_protocol = by_protocol_;
    for (const auto& [protocol, frames] : by_protocol_) {
        s.frames_sent += frames.sent;
        s.bytes_sent += frames.bytes_sent;
        s.frames_dropped += frames.dropped;
    }
    s.tcp_connection_failures = tcp_failures_.value();
    s.http_connection_failures = http_failures_.value();
    s.remote_websocket_closures = remote_closures_.value();
    s.tcp_closures = tcp_closures_.value();
    return s;
}

void PoolImpl::clear_statistics() {
    tcp_failures_.reset();
    http_failures_.reset();
    remote_closures_.reset();
    tcp_closures_.reset();
}

void PoolImpl::reload(config::ConfigPtr config) {
    config_ = std::move(config);
}

void PoolImpl::stop(std::function<void()> done) {
    stopping_ = true;
    stop_done_ = std::move(done);
    for (auto& [id, conn] : std::map<std::uint32_t, ConnPtr>(connections_)) {
        if (conn->state == ConnState::connecting) {
            // Not a network failure: no counter, the waiting calls just fail.
            conn->attempt->cancel();
            fail_users(conn, reason::connection_failed);
        } else if (conn->state == ConnState::open) {
            close_connection(conn, CloseCause::shutdown);
        } else if (conn->state == ConnState::reconnecting) {
            conn->lost_reason = reason::connection_closed;
            give_up(conn);
        }
    }
    if (connections_.empty()) {
        asio::post(io_, std::exchange(stop_done_, nullptr));
        return;
    }
    // Closing handshakes get a short while; what is left is dropped.
    stop_timer_.expires_after(std::chrono::seconds(2));
    stop_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        for (auto& [id, conn] : connections_) {
            conn->orphan = true;
            if (conn->link) {
                conn->link->abort();
                conn->link->on_writable(nullptr);
            }
        }
        connections_.clear();
        if (stop_done_) asio::post(io_, std::exchange(stop_done_, nullptr));
    });
}

bool PoolImpl::clear_connection(std::uint32_t id) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return false;
    if (it->second->state == ConnState::reconnecting) {
        // The clear command ends its forks as it would have on an open one.
        ops::trace_global("WebSocket Connection closed locally using clear command for " + it->second->url);
        it->second->lost_reason = reason::connection_closed;
        give_up(it->second);
        return true;
    }
    if (it->second->state != ConnState::open) return false;
    close_connection(it->second, CloseCause::clear);
    return true;
}

std::vector<ConnectionView> PoolImpl::connection_views(Connections which) const {
    std::vector<ConnectionView> out;
    for (const auto& [id, conn] : connections_) {
        if (which == Connections::open && conn->state != ConnState::open) continue;
        ConnectionView v;
        v.id = id;
        v.url = conn->url;
        v.server =
            conn->server_address.empty() ? authority(conn->key.host, conn->key.port) : conn->server_address;
        v.local = conn->local_address;
        v.secure = conn->key.secure;
        v.tls_version = conn->tls_version;
        v.cipher = conn->cipher;
        v.token = conn->key.token;
        v.state = conn->state;
        v.active_sessions = conn->users.size();
        v.total_sessions = conn->total_sessions;
        v.connected_at = conn->opened_at;
        for (UserHandle h : conn->users) {
            if (auto u = users_.find(h); u != users_.end()) v.calls.push_back(u->second.label);
        }
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace voxfork::ws::detail
