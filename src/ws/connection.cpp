// The life of an open connection: the send path (handler -> queue -> socket),
// the read loop, ping/dead/idle timers, and closing, each cause of an end
// mapped in one place (close_connection) to its history reason, fork reason,
// counter and trace line.
#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "policy.hpp"
#include "pool_impl.hpp"

namespace voxfork::ws::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr double ping_after_s = 20;  // nothing heard for this long: ping
constexpr double dead_after_s = 60;  // nothing heard for this long: dead
constexpr std::size_t history_size = 100;
}  // namespace

Clock::duration PoolImpl::seconds(double s) const {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s / settings_.time_scale));
}

void PoolImpl::start_session(const ConnPtr& conn) {
    conn->state = ConnState::open;
    conn->opened_at = std::time(nullptr);
    const auto now = Clock::now();
    conn->last_rx = conn->last_ping = conn->idle_since = now;
    Connection* raw = conn.get();  // the link belongs to the connection
    conn->link->on_control_frame([raw] { raw->last_rx = Clock::now(); });
    conn->link->on_writable([this, weak = std::weak_ptr<Connection>(conn)] {
        auto c = weak.lock();
        if (c && !c->orphan && c->state == ConnState::open && !c->writing) write_next(c);
    });
    conn->link->keep_alive_while_writing(conn);
    if (!conn->handed.enabled()) conn->handed.reserve(conn->handler->unacknowledged_kept());
    conn->handler->on_open(conn->output);
    read_next(conn);
    arm_tick(conn);
    if (!conn->scheduled) schedule(conn, now);  // a reconnected one kept its place
    arm_drain_timer();
    pump(conn);
}

void ConnectionOutput::send_binary(std::uint32_t tag, std::span<const std::uint8_t> message) {
    pool_.send_binary(conn_, tag, message);
}

void ConnectionOutput::send_text(std::string text) {
    pool_.send_text(conn_, std::move(text));
}

void ConnectionOutput::close_when_sent() {
    pool_.close_when_sent(conn_);
}

void ConnectionOutput::drop() {
    pool_.drop(conn_);
}

void ConnectionOutput::reconnect() {
    pool_.reconnect_on_request(conn_);
}

std::size_t ConnectionOutput::room() const {
    // None while the write batch is over its mark (what is sent then queues).
    if (conn_.state != ConnState::open || conn_.link->backlogged()) return 0;
    return replay_room(conn_.queue.binary_size(), conn_.queue.binary_capacity());
}

void ConnectionOutput::restored() {
    pool_.restored(conn_);
}

void ConnectionOutput::replayed(std::uint64_t frames) {
    pool_.counts_.frames_replayed += frames;
}

void PoolImpl::drop(Connection& conn) {
    if (auto it = connections_.find(conn.id); it != connections_.end() && conn.state == ConnState::open) {
        spdlog::warn("ws: connection {}: the protocol's pings went unanswered", conn.id);
        close_connection(it->second, CloseCause::tcp);
    }
}

void PoolImpl::close_when_sent(Connection& conn) {
    if (conn.state != ConnState::open) return;
    conn.close_when_sent = true;
    if (auto it = connections_.find(conn.id); it != connections_.end()) pump(it->second);
}

// While nothing waits in the send queue a message goes straight into the
// link's write batch; else it queues behind what waits, where the oldest
// binary messages are dropped when it is full.
void PoolImpl::send_binary(Connection& conn, std::uint32_t tag, std::span<const std::uint8_t> message) {
    if (conn.state != ConnState::open) return;
    if (conn.queue.empty() && !conn.writing && !conn.link->backlogged()) return hand(conn, tag, message);
    if (auto dropped = conn.queue.push_binary(tag, message)) {
        ++conn.frames->dropped;
        ++conn.drops.queue_full;
        conn.handler->on_dropped(*dropped);
    }
}

void PoolImpl::send_text(Connection& conn, std::string text) {
    if (conn.state != ConnState::open) return;
    // Audio the handler took before this message goes out before it.
    drain_handler(conn);
    conn.queue.push_text(std::move(text));
    if (auto it = connections_.find(conn.id); it != connections_.end()) pump(it->second);
}

// Moves what the media thread queued towards the socket.
void PoolImpl::drain_handler(Connection& conn) {
    if (conn.state != ConnState::open) return;
    const std::uint64_t dropped = conn.handler->drain(conn.output);
    conn.frames->dropped += dropped;
    conn.drops.handler += dropped;
}

// write_next drains the handler itself; only a connection that can't write
// now has its audio moved into the queue here.
void PoolImpl::pump(const ConnPtr& conn) {
    if (conn->state == ConnState::open && !conn->writing) return write_next(conn);
    drain_handler(*conn);
}

// Binary messages are framed straight into the link's write batch, so one
// drain leaves in one socket write; a text message goes through Beast and the
// queue goes on when it completes. While the batch is over its high-water mark
// binary messages stay in the queue, where they are dropped oldest-first.
void PoolImpl::write_next(const ConnPtr& conn) {
    drain_handler(*conn);
    while (conn->state == ConnState::open && !conn->link->backlogged()) {
        const auto kind = conn->queue.pop(conn->write_slot, conn->write_text);
        if (kind == SendQueue::Kind::none) {
            // The close frame follows the batch that is still being written.
            if (conn->close_when_sent) close_connection(conn, CloseCause::done);
            return;
        }
        if (kind == SendQueue::Kind::binary) {
            hand(*conn, conn->write_slot.tag, conn->write_slot.message());
            continue;
        }
        conn->writing = true;
        conn->link->write(false, conn->write_text.data(), conn->write_text.size(),
                          [this, conn, generation = conn->link_generation](error_code ec) {
            if (conn->orphan || conn->link_generation != generation) return;
            conn->writing = false;
            if (!ec) write_next(conn);  // on failure the read loop reports the loss
        });
        return;
    }
}

void PoolImpl::hand(Connection& conn, std::uint32_t tag, std::span<const std::uint8_t> message) {
    conn.link->send_binary(message);
    if (conn.handed.enabled()) conn.handed.add(tag, message, conn.link->bytes_handed());
    count_sent(conn, tag, message.size());
}

void PoolImpl::count_sent(Connection& conn, std::uint32_t tag, std::size_t bytes) {
    ++conn.frames->sent;
    conn.frames->bytes_sent += bytes;
    conn.handler->on_sent(tag, bytes);
}

void PoolImpl::read_next(const ConnPtr& conn) {
    conn->link->read([this, conn, generation = conn->link_generation](Link::End end, std::string_view payload,
                                                                       bool binary) {
        if (conn->orphan || conn->state != ConnState::open || conn->link_generation != generation) return;
        conn->last_rx = Clock::now();
        switch (end) {
            case Link::End::none: {
                if (binary) {
                    const auto* bytes = reinterpret_cast<const std::uint8_t*>(payload.data());
                    if (!conn->handler->on_binary({bytes, payload.size()})) {
                        spdlog::warn("ws: connection {}: binary frame from the server", conn->id);
                        return close_connection(conn, CloseCause::protocol);
                    }
                } else {
                    conn->handler->on_text(payload);
                }
                // What the handler told may have closed it.
                if (conn->state == ConnState::open) read_next(conn);
                return;
            }
            case Link::End::remote_close:
                spdlog::info("ws: connection {}: server closed it ({})", conn->id, conn->link->close_reason());
                return close_connection(conn, CloseCause::remote);
            case Link::End::protocol_error:
                spdlog::warn("ws: connection {}: protocol error from the server", conn->id);
                return close_connection(conn, CloseCause::protocol);
            case Link::End::transport:
            case Link::End::aborted:
                return close_connection(conn, CloseCause::tcp);
        }
    });
}

void PoolImpl::arm_tick(const ConnPtr& conn) {
    // Fine enough for 20 s pings and minute-scale idle timers, also scaled.
    const auto period = std::max<Clock::duration>(seconds(1), std::chrono::milliseconds(5));
    conn->tick.expires_after(period);
    conn->tick.async_wait([this, conn](error_code ec) {
        if (!ec && !conn->orphan) on_tick(conn);
    });
}

void PoolImpl::on_tick(const ConnPtr& conn) {
    if (conn->state != ConnState::open) return;
    const auto now = Clock::now();
    if (now - conn->last_rx >= seconds(dead_after_s)) {
        spdlog::warn("ws: connection {}: nothing from the server for 60 s", conn->id);
        return close_connection(conn, CloseCause::tcp);
    }
    // The links a loss retired wait for their handlers (cancelled at the
    // abort, run at once); a second after the reconnect they are long done,
    // and each holds its buffers (~130 KiB): 6.5 MB per restart of a
    // 50-connection pool until the fourth loss, were they kept.
    if (!conn->lost_links.empty() && now - conn->restored_at >= std::chrono::seconds(1)) conn->lost_links.clear();
    if (conn->users.empty() && now - conn->idle_since >= seconds(60.0 * conn->idle_minutes)) {
        return close_connection(conn, CloseCause::idle);
    }
    if (now - conn->last_rx >= seconds(ping_after_s) && now - conn->last_ping >= seconds(ping_after_s) &&
        !conn->ping_in_flight) {
        conn->ping_in_flight = true;
        conn->last_ping = now;
        conn->link->ping([conn](error_code) { conn->ping_in_flight = false; });
    }
    arm_tick(conn);
}

// One timer for the whole pool picks up audio the media thread queued.
void PoolImpl::arm_drain_timer() {
    if (drain_armed_) return;
    drain_armed_ = true;
    drain_timer_.expires_after(settings_.drain_interval);
    drain_timer_.async_wait([this](error_code ec) {
        if (ec) return;
        drain_armed_ = false;
        const auto now = Clock::now();
        drain_round_.clear();
        while (!schedule_.empty() && schedule_.front().at <= now) {
            std::pop_heap(schedule_.begin(), schedule_.end());
            drain_round_.push_back(std::move(schedule_.back().conn));
            schedule_.pop_back();
        }
        for (const ConnPtr& conn : drain_round_) {
            conn->scheduled = false;
            if (conn->drops.any()) warn_drops(*conn, now);
            if (conn->state == ConnState::reconnecting) {
                const std::uint64_t dropped = conn->handler->keep();
                counts_.frames_dropped += dropped;
                conn->drops.handler += dropped;
            } else if (conn->state == ConnState::open) {
                pump(conn);
                if (conn->state == ConnState::open) conn->handler->on_tick(now);
            }
            reschedule(conn, now);
        }
        drain_round_.clear();  // the connections a round ended are freed now
        if (!schedule_.empty()) arm_drain_timer();
    });
}

void PoolImpl::reschedule(const ConnPtr& conn, Clock::time_point now) {
    if (conn->state == ConnState::open) schedule(conn, conn->handler->next_service(now));
    if (conn->state == ConnState::reconnecting) schedule(conn, now);  // keep() every round
}

void PoolImpl::schedule(const ConnPtr& conn, Clock::time_point at) {
    conn->scheduled = true;
    schedule_.push_back({at, conn});
    std::push_heap(schedule_.begin(), schedule_.end());
}

namespace {
struct CloseSpec {
    const char* history;    // connection history reason
    std::string_view fork;  // what the forks on it are told
    const char* trace;      // FORK_ET text before " for URL", or null
    std::uint16_t code;     // close code to send, 0: none (link already done)
};

CloseSpec spec_of(CloseCause cause) {
    switch (cause) {
        case CloseCause::idle:
            return {"idle timeout", reason::connection_closed, "closed locally due to idle-timeout expiry", 1000};
        case CloseCause::clear:
            return {"clear command", reason::connection_closed, "closed locally using clear command", 1000};
        case CloseCause::remote:
            return {"remote close", reason::connection_closed, "was remotely closed", 0};
        case CloseCause::tcp:
            return {"TCP closed", reason::tcp_closed, "was closed over TCP", 0};
        // The server broke the protocol: it ended the connection, as far as the
        // history can tell, but no close frame of its own was counted.
        case CloseCause::protocol:
            return {"remote close", reason::connection_closed, nullptr, 1003};
        case CloseCause::shutdown:
            return {"shutdown", reason::connection_closed, nullptr, 1001};
        // The protocol's fork on it ended (a connection per fork): nobody is
        // left to tell.
        case CloseCause::done:
            return {"fork ended", reason::connection_closed, nullptr, 1000};
    }
    return {"shutdown", reason::connection_closed, nullptr, 1001};
}
}  // namespace

void PoolImpl::close_connection(const ConnPtr& conn, CloseCause cause) {
    if (conn->state != ConnState::open) return;
    CloseSpec spec = spec_of(cause);
    // A reconnect the server asked for whose new session is not yet taken
    // has failed, however the link went: `Connection closed` (docs/stream.md).
    if (conn->quiet_reconnect) spec.fork = reason::connection_closed;
    const bool reconnecting = reconnects(*conn, cause);
    conn->state = reconnecting ? ConnState::reconnecting : ConnState::closing;
    conn->tick.cancel();
    if (!reconnecting) ++counts_.connections_closed;
    if (cause == CloseCause::remote) remote_closures_.increment();
    if (cause == CloseCause::tcp) tcp_closures_.increment();
    if (spec.trace) ops::trace_global(std::string("WebSocket Connection ") + spec.trace + " for " + conn->url);
    history_.push_front({conn->id, conn->server_address, conn->local_address, conn->opened_at, std::time(nullptr),
                         conn->total_sessions, spec.history});
    if (history_.size() > history_size) history_.pop_back();
    if (reconnecting) return interrupt(conn, spec.fork);

    for (UserHandle h : std::exchange(conn->users, {})) {
        users_.erase(h);
        if (observer_ && cause != CloseCause::done) observer_->on_connection_lost(h, spec.fork);
    }
    conn->handler->on_closed();

    if (spec.code == 0) return finish(conn);
    const char* text = cause == CloseCause::protocol ? "unexpected data"
                       : cause == CloseCause::done   ? "end"
                                                     : spec.history;
    // A server that stopped reading would hold the close behind a write for ever.
    conn->close_guard.expires_after(std::chrono::seconds(2));
    conn->close_guard.async_wait([conn](error_code ec) {
        if (!ec && !conn->orphan && conn->link) conn->link->abort();
    });
    conn->link->close(spec.code, text, [this, conn](error_code) {
        if (conn->orphan) return;
        conn->close_guard.cancel();
        finish(conn);
    });
}

void PoolImpl::warn_drops(Connection& conn, Clock::time_point now, bool now_anyway) {
    constexpr auto every = std::chrono::seconds(10);
    if (!conn.drops.any() || (!now_anyway && conn.drops.warned_at != Clock::time_point{} &&
                              now - conn.drops.warned_at < every))
        return;
    spdlog::warn("ws: connection {} to {}: {} forked frames dropped ({} send queue full, {} media ring or "
                 "outage buffer full, {} unsent at a loss)",
                 conn.id, conn.url, conn.drops.queue_full + conn.drops.handler + conn.drops.unsent,
                 conn.drops.queue_full, conn.drops.handler, conn.drops.unsent);
    conn.drops = {};
    conn.drops.warned_at = now;
}

void PoolImpl::finish(const ConnPtr& conn) {
    warn_drops(*conn, Clock::now(), true);
    conn->link->abort();
    // Its handlers may still run (a socket write keeps it alive): none may
    // reach the pool any more.
    conn->orphan = true;
    conn->link->on_writable(nullptr);
    if (auto it = connections_.find(conn->id); it != connections_.end() && it->second == conn) connections_.erase(it);
    if (stopping_ && connections_.empty() && stop_done_) {
        stop_timer_.cancel();
        asio::post(io_, std::exchange(stop_done_, nullptr));
    }
}

}  // namespace voxfork::ws::detail
