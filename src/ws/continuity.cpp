// Continuity (docs/stream.md): a connection lost without a deliberate close is
// reconnected in place, within the profile's `connection reconnect window`.
// The connection keeps its id, its users and its handler (the protocol's
// state, its audio ring and what it kept during the outage); only the link
// under it is new. What the handler sends on the new link is its business
// (src/stream/continuity.hpp).
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "pool_impl.hpp"

namespace voxfork::ws::detail {

using boost::system::error_code;

namespace {
// docs/stream.md, Continuity: a loss within this long of a reconnect goes on counting the
// same window (and the backoff goes on from where it was).
constexpr auto same_window_after_restore = std::chrono::seconds(10);

Clock::time_point window_end(const Connection& conn) {
    return conn.window_start + std::chrono::seconds(conn.window_seconds);
}
}  // namespace

bool PoolImpl::reconnects(const Connection& conn, CloseCause cause) const {
    if (stopping_ || conn.profile->reconnect_window_seconds <= 0 || conn.users.empty() ||
        !conn.handler->resumable())
        return false;
    // A deliberate close (1000, idle timeout, clear command, ours) is never retried.
    if (cause == CloseCause::tcp) return true;
    return cause == CloseCause::remote && conn.link && conn.link->close_code() != 1000;
}

void PoolImpl::interrupt(const ConnPtr& conn, std::string_view reason) {
    const auto now = Clock::now();
    conn->lost_reason = reason;
    if (conn->restored_at == Clock::time_point{} || now - conn->restored_at >= same_window_after_restore) {
        conn->window_start = now;
        conn->backoff = reconnect_backoff_first;
    }
    spdlog::info("ws: connection {} to {} lost ({}); reconnecting for up to {} s", conn->id, conn->url, reason,
                 conn->profile->reconnect_window_seconds);
    conn->window_seconds = conn->profile->reconnect_window_seconds;
    conn->quiet_reconnect = false;
    const bool told = std::exchange(conn->users_interrupted, true);
    const std::optional<std::uint64_t> acknowledged = conn->link->bytes_acknowledged();  // before the socket goes
    conn->link->abort();
    retire_link(conn, acknowledged);
    // A loss before the last one was over (a resumed session that never
    // opened) is the same outage to the users.
    if (!told)
        for (UserHandle h : std::vector<UserHandle>(conn->users))
            if (observer_) observer_->on_connection_interrupted(h);
    arm_drain_timer();  // keep() runs on it
    schedule_reconnect(conn);
}

void PoolImpl::give_back(Connection& conn, std::uint32_t tag, std::span<const std::uint8_t> message) {
    if (conn.handler->on_unsent(tag, message)) return;
    ++counts_.frames_dropped;
    ++conn.drops.unsent;
    conn.handler->on_dropped(tag);
}

void PoolImpl::retire_link(const ConnPtr& conn, std::optional<std::uint64_t> acknowledged) {
    // The old link's handlers may still run once: they find another generation.
    conn->link->on_writable(nullptr);
    // Those of earlier losses are finished long ago (attempts are 0.2 s apart at least).
    if (conn->lost_links.size() >= 4) conn->lost_links.erase(conn->lost_links.begin());
    conn->lost_links.push_back(std::move(conn->link));
    ++conn->link_generation;
    conn->writing = false;
    conn->ping_in_flight = false;
    conn->close_when_sent = false;
    // What the server cannot have had goes back to the handler, oldest
    // first: the frames its TCP never acknowledged (they were written, but
    // the server never got them), then what still waited in the queue. Texts
    // are gone: the handler re-establishes its streams.
    if (acknowledged)
        conn->handed.take_unacknowledged(*acknowledged, [&](std::uint32_t tag, std::span<const std::uint8_t> message) {
            give_back(*conn, tag, message);
        });
    conn->handed.clear();  // the next link counts its bytes from 0
    conn->queue.clear([&](std::uint32_t tag, std::span<const std::uint8_t> message) { give_back(*conn, tag, message); });
    conn->handler->on_interrupted();
}

void PoolImpl::reconnect_on_request(Connection& c) {
    auto it = connections_.find(c.id);
    if (it == connections_.end() || c.state != ConnState::open || stopping_) return;
    const ConnPtr conn = it->second;
    spdlog::info("ws: connection {} to {}: the server asked for a new connection", conn->id, conn->url);
    conn->state = ConnState::reconnecting;
    conn->tick.cancel();
    conn->quiet_reconnect = true;
    conn->lost_reason = reason::connection_closed;
    conn->window_seconds = std::max(conn->profile->reconnect_window_seconds, 5);
    conn->window_start = Clock::now();
    conn->backoff = reconnect_backoff_first;
    // A deliberate close, then the link goes like a lost one.
    Link* old = conn->link.get();
    old->close(1000, "reconnect", [old](error_code) { old->abort(); });
    retire_link(conn, std::nullopt);  // closed in order: what was written gets there
    arm_drain_timer();
    schedule_reconnect(conn);
}

void PoolImpl::schedule_reconnect(const ConnPtr& conn) {
    const ReconnectStep step = reconnect_step(conn->backoff, window_end(*conn) - Clock::now());
    if (step.give_up) return give_up(conn);
    conn->backoff = step.next_backoff;
    conn->retry.expires_after(step.wait);
    conn->retry.async_wait([this, conn](error_code ec) {
        if (!ec && !conn->orphan && conn->state == ConnState::reconnecting) reconnect(conn);
    });
}

ConnectRequest PoolImpl::request_for(const Connection& conn) const {
    ConnectRequest request;
    request.key = conn.key;
    request.profile = conn.profile;
    if (conn.key.secure) request.ca_file = config_->websocket_ca_file();
    request.timeout = settings_.connect_timeout;
    return request;
}

void PoolImpl::reconnect(const ConnPtr& conn) {
    ++counts_.reconnect_attempts;
    spdlog::debug("ws: connection {} reconnecting to {}", conn->id, conn->url);
    ConnectRequest request = request_for(*conn);
    request.timeout = reconnect_attempt_timeout(settings_.connect_timeout, window_end(*conn) - Clock::now());
    conn->handler->prepare_reconnect(request.key.headers);
    conn->attempt = connect(io_, resolver_, std::move(request),
                            [this, conn](ConnectOutcome outcome) { on_reconnect_outcome(conn, std::move(outcome)); });
}

void PoolImpl::on_reconnect_outcome(const ConnPtr& conn, ConnectOutcome outcome) {
    conn->attempt.reset();
    if (conn->orphan || conn->state != ConnState::reconnecting) return;
    if (!outcome.link) {
        spdlog::info("ws: connection {} to {}: reconnect failed at {}: {}", conn->id, conn->url,
                     to_string(*outcome.failed), outcome.detail);
        count_failure(*conn, outcome);
        return schedule_reconnect(conn);
    }
    conn->link = std::move(outcome.link);
    conn->local_address = outcome.local_address;
    conn->server_address = outcome.server_address;
    conn->tls_version = outcome.tls_version;
    conn->cipher = outcome.cipher;
    conn->restored_at = Clock::now();
    ++counts_.reconnects_succeeded;
    ops::trace_global("WebSocket Connection re-established for " + conn->url);
    spdlog::info("ws: connection {} to {} re-established", conn->id, conn->url);
    start_session(conn);  // the handler's on_open re-establishes its streams
    if (conn->state == ConnState::open && conn->handler->restored_at_open()) restored(*conn);
}

void PoolImpl::restored(Connection& conn) {
    if (conn.state != ConnState::open) return;
    conn.quiet_reconnect = false;
    if (!std::exchange(conn.users_interrupted, false)) return;
    for (UserHandle h : std::vector<UserHandle>(conn.users))
        if (observer_) observer_->on_connection_restored(h);
}

void PoolImpl::give_up(const ConnPtr& conn) {
    if (conn->state != ConnState::reconnecting) return;
    spdlog::warn("ws: connection {} to {}: not re-established ({}, window {} s)", conn->id, conn->url,
                 conn->lost_reason, conn->profile->reconnect_window_seconds);
    conn->state = ConnState::closing;
    conn->retry.cancel();
    if (conn->attempt) conn->attempt->cancel();
    conn->attempt.reset();
    ++counts_.connections_closed;
    for (UserHandle h : std::exchange(conn->users, {})) {
        users_.erase(h);
        if (observer_) observer_->on_connection_lost(h, conn->lost_reason);
    }
    conn->handler->on_closed();
    conn->orphan = true;
    if (auto it = connections_.find(conn->id); it != connections_.end() && it->second == conn) connections_.erase(it);
    if (stopping_ && connections_.empty() && stop_done_) {
        stop_timer_.cancel();
        boost::asio::post(io_, std::exchange(stop_done_, nullptr));
    }
}

}  // namespace voxfork::ws::detail
