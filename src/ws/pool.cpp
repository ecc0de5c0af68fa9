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
                                   Settings settings) {
    return std::make_unique<detail::PoolImpl>(io, std::move(config), commands, settings);
}

}  // namespace voxfork::ws

namespace voxfork::ws::detail {

void register_commands(ops::CommandRegistry& commands, PoolImpl& pool);  // commands.cpp

PoolImpl::PoolImpl(asio::io_context& io, config::ConfigPtr config, ops::CommandRegistry& commands, Settings settings)
    : io_(io),
      config_(std::move(config)),
      settings_(settings),
      resolver_(Resolver::create(io, config_->name_servers)),
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
        conn->ring->close();
        conn->tick.cancel();
        conn->close_guard.cancel();
    }
}

CallHandle PoolImpl::attach(const ConnectionKey& key, const CallLabel& label, AttachCallback done) {
    const CallHandle handle = next_call_++;
    if (stopping_) {
        asio::post(io_, [done = std::move(done), handle] {
            AttachResult r;
            r.call = handle;
            r.reason = reason::internal_error;
            done(r);
        });
        return handle;
    }
    config::StreamServiceProfile profile;
    profile.tag = key.profile_tag;
    if (auto it = config_->stream_service_profiles.find(key.profile_tag); it != config_->stream_service_profiles.end())
        profile = it->second;

    std::vector<Candidate> candidates;
    for (const auto& [id, conn] : connections_) {
        if (conn->key == key && conn->state != ConnState::closing)
            candidates.push_back({id, static_cast<int>(conn->calls.size())});
    }
    ConnPtr conn;
    if (auto chosen = choose_connection(candidates, profile.calls_threshold)) {
        conn = connections_.at(*chosen);
    } else {
        conn = open_connection(key, profile);
    }

    Call call;
    call.handle = handle;
    call.connection = conn->id;
    call.caller = next_channel();
    call.callee = next_channel();
    call.label = label;
    conn->channels.push_back({call.caller, handle, false, false, {}});
    conn->channels.push_back({call.callee, handle, false, false, {}});
    conn->calls.push_back(handle);
    ++conn->total_sessions;

    if (conn->state == ConnState::open) {
        // The answer is always asynchronous, as for a new connection.
        asio::post(io_, [this, handle, done = std::move(done)] {
            auto it = calls_.find(handle);
            if (it == calls_.end()) return;  // detached meanwhile
            AttachResult r;
            r.call = handle;
            r.connection_id = it->second.connection;
            r.caller_channel = it->second.caller;
            r.callee_channel = it->second.callee;
            r.audio = connections_.at(it->second.connection)->ring;
            done(r);
        });
    } else {
        call.pending = std::move(done);
    }
    calls_.emplace(handle, std::move(call));
    return handle;
}

std::uint32_t PoolImpl::next_channel() {
    // Unique for the process's lifetime, never 0.
    static std::uint32_t next = 0;
    if (++next == 0) ++next;
    return next;
}

PoolImpl::ConnPtr PoolImpl::open_connection(const ConnectionKey& key, const config::StreamServiceProfile& profile) {
    auto conn = std::make_shared<Connection>(io_, queue_frames_for(profile.calls_threshold));
    conn->id = next_connection_++;
    conn->key = key;
    conn->url = url_of(key.host, key.port, key.secure);
    conn->idle_minutes = profile.idle_timeout_minutes;
    connections_[conn->id] = conn;

    ConnectRequest request;
    request.key = key;
    request.profile = profile;
    request.config = config_;
    if (key.secure) request.ca_file = config_->websocket_ca_file();
    request.timeout = settings_.connect_timeout;
    spdlog::debug("ws: connection {} opening to {}", conn->id, conn->url);
    conn->attempt = connect(io_, resolver_, std::move(request),
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
        // Calls waiting for it learn their channels now, in attach order.
        for (CallHandle h : std::vector<CallHandle>(conn->calls)) {
            auto it = calls_.find(h);
            if (it == calls_.end() || !it->second.pending) continue;
            AttachCallback done = std::move(it->second.pending);
            it->second.pending = nullptr;
            AttachResult r;
            r.call = h;
            r.connection_id = conn->id;
            r.caller_channel = it->second.caller;
            r.callee_channel = it->second.callee;
            r.audio = conn->ring;
            done(r);
        }
        return;
    }

    const Failure failure = classify_failure(*outcome.failed, outcome.http_status);
    spdlog::warn("ws: connection {} to {} failed at {}: {}", conn->id, conn->url, to_string(*outcome.failed),
                 outcome.detail);
    ops::trace_global("WebSocket Connection creation failed for " + conn->url);
    if (failure.counter == FailureCounter::tcp) tcp_failures_.increment();
    if (failure.counter == FailureCounter::http) {
        http_failures_.increment();
        ops::trace_global("WebSocket Connection : " + std::to_string(http_failures_.value()) +
                          " HTTP connection failures");
    }
    fail_calls(conn, failure.reason);
}

void PoolImpl::fail_calls(const ConnPtr& conn, std::string_view why) {
    connections_.erase(conn->id);
    conn->ring->close();
    for (CallHandle h : std::exchange(conn->calls, {})) {
        auto it = calls_.find(h);
        if (it == calls_.end()) continue;
        AttachCallback done = std::move(it->second.pending);
        erase_call(it->second, *conn);
        calls_.erase(it);
        AttachResult r;
        r.call = h;
        r.reason = std::string(why);
        if (done) done(r);
    }
}

void PoolImpl::erase_call(const Call& call, Connection& conn) {
    std::erase_if(conn.channels, [&](const ChannelState& c) { return c.id == call.caller || c.id == call.callee; });
}

void PoolImpl::send_control(CallHandle handle, const nlohmann::ordered_json& message) {
    auto it = calls_.find(handle);
    if (it == calls_.end()) return;
    auto cit = connections_.find(it->second.connection);
    if (cit == connections_.end()) return;
    Connection& conn = *cit->second;
    // Audio the sink took before this message goes out before it.
    drain_ring(conn);
    const auto* type_field = json_member(message, "type");
    std::string_view type;
    if (type_field != nullptr && type_field->is_string()) type = type_field->get_ref<const std::string&>();
    const auto* channel = json_member(message, "channel");
    bool send = true;
    if (channel != nullptr && channel->is_number_unsigned()) {
        ChannelState* ch = conn.channel(channel->get<std::uint32_t>());
        if (ch != nullptr && ch->call == handle) {
            // wire.md: after a STOP nothing goes out for the channel, and a
            // channel the server stopped gets no STOP back.
            if (ch->stopped) send = false;
            if (type == "STOP") ch->stopped = true;
            if (type == "PAUSE") ch->paused = true;
            if (type == "RESUME" || type == "START") ch->paused = false;
        }
    }
    if (send) conn.queue.push_control(control_text(message));
    pump(cit->second);
}

void PoolImpl::detach(CallHandle handle) {
    auto it = calls_.find(handle);
    if (it == calls_.end()) return;
    auto cit = connections_.find(it->second.connection);
    if (cit != connections_.end()) {
        Connection& conn = *cit->second;
        drain_ring(conn);
        std::erase(conn.calls, handle);
        std::erase_if(conn.server_stops, [&](const ServerStop& stop) { return stop.call == handle; });
        if (conn.calls.empty()) conn.idle_since = Clock::now();
        pump(cit->second);
        erase_call(it->second, conn);
    }
    calls_.erase(it);
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
    for (const auto& [id, conn] : connections_) s.connections_active += conn->state == ConnState::open;
    s.tcp_connection_failures = tcp_failures_.value();
    s.http_connection_failures = http_failures_.value();
    s.remote_websocket_closures = remote_closures_.value();
    s.tcp_closures = tcp_closures_.value();
    return s;
}

ChannelCounters PoolImpl::channel_counters(std::uint32_t channel) const {
    for (const auto& [id, conn] : connections_) {
        if (const ChannelState* c = std::as_const(*conn).channel(channel)) return c->counters;
    }
    return {};
}

void PoolImpl::clear_statistics() {
    tcp_failures_.reset();
    http_failures_.reset();
    remote_closures_.reset();
    tcp_closures_.reset();
}

void PoolImpl::reload(config::ConfigPtr config) {
    if (config->name_servers != config_->name_servers) {
        // Lookups under way keep the old resolver alive until they end.
        resolver_ = Resolver::create(io_, config->name_servers);
    }
    config_ = std::move(config);
}

void PoolImpl::stop(std::function<void()> done) {
    stopping_ = true;
    stop_done_ = std::move(done);
    for (auto& [id, conn] : std::map<std::uint32_t, ConnPtr>(connections_)) {
        if (conn->state == ConnState::connecting) {
            // Not a network failure: no counter, the waiting calls just fail.
            conn->attempt->cancel();
            fail_calls(conn, reason::connection_failed);
        } else if (conn->state == ConnState::open) {
            close_connection(conn, CloseCause::shutdown);
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
    if (it == connections_.end() || it->second->state != ConnState::open) return false;
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
            conn->server_address.empty() ? conn->key.host + ":" + std::to_string(conn->key.port) : conn->server_address;
        v.local = conn->local_address;
        v.secure = conn->key.secure;
        v.tls_version = conn->tls_version;
        v.cipher = conn->cipher;
        v.token = conn->key.token;
        v.state = conn->state;
        v.active_sessions = conn->calls.size();
        v.total_sessions = conn->total_sessions;
        v.connected_at = conn->opened_at;
        for (CallHandle h : conn->calls) {
            if (auto c = calls_.find(h); c != calls_.end()) v.calls.push_back(c->second.label);
        }
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace voxfork::ws::detail
