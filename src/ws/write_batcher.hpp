// A stream layer between Beast's WebSocket stream and the transport (TCP or
// TLS) that turns many small writes into one. Included by link.cpp only.
//
// Every write, Beast's (text messages, ping, pong, close) or an audio frame
// voxfork framed itself, is appended to a buffer; the buffer goes to the
// transport in one write when the io thread next runs, and what arrives while
// that write is in flight goes in the following one. So a drain of a
// connection's queue costs one send (TLS records of up to 16 KiB) however
// many frames it held, and nothing waits for a timer. Beast's writes are complete as soon as
// they are appended; the pool holds audio back while the buffer is over its
// high-water mark (backlogged()), which bounds it.
#pragma once

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <sys/socket.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "batched_sends.hpp"
#include "upgrade.hpp"

namespace voxfork::ws::detail {

template <class Next>
class WriteBatcher {
public:
    using executor_type = typename Next::executor_type;
    // Audio waits in the pool's queue (where it is dropped oldest-first)
    // while this much is waiting here.
    static constexpr std::size_t high_water = 64 * 1024;
    // A buffer this large or smaller is kept when it empties: a connection
    // whose socket keeps up writes a few frames at a time and never
    // allocates; one that backed up gives the rest back once it drained (a
    // buffer sized for the high-water mark up front took ~136 KiB per
    // connection, a call's worth of memory several times over).
    static constexpr std::size_t kept_bytes = 16 * 1024;

    template <class... Args>
    explicit WriteBatcher(Args&&... args) : next_(std::forward<Args>(args)...), shared_(std::make_shared<Shared>()) {
        shared_->owner = this;
        shared_->flushes = &boost::asio::use_service<FlushQueue>(
            boost::asio::query(next_.get_executor(), boost::asio::execution::context));
        // A drain round's frames (two 20 ms frames of a single-call paced
        // connection, a few kilobytes of a full voxfork-v1 one): it grows
        // once to what the connection writes in a round, then stays.
        shared_->pending.reserve(512);
    }
    WriteBatcher(const WriteBatcher&) = delete;
    WriteBatcher& operator=(const WriteBatcher&) = delete;
    // A transport write may still be pending: its handler must not come back.
    ~WriteBatcher() { shared_->owner = nullptr; }

    executor_type get_executor() noexcept { return next_.get_executor(); }
    Next& next_layer() noexcept { return next_; }
    const Next& next_layer() const noexcept { return next_; }

    // While the upgrade's answer is read (on from prepare_upgrade() until the
    // handshake succeeded), what arrives passes UpgradeAnswerCheck first; an
    // answer it refuses ends the read with http::error::body_limit.
    void check_upgrade_answer(bool on) { answer_check_ = on ? std::make_unique<UpgradeAnswerCheck>() : nullptr; }

    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& buffers) {
                if (!answer_check_) return next_.async_read_some(buffers, std::move(handler));
                auto executor = boost::asio::get_associated_executor(handler, get_executor());
                next_.async_read_some(
                    buffers, boost::asio::bind_executor(executor, [this, buffers, handler = std::move(handler)](
                                                                      boost::system::error_code ec, std::size_t n) mutable {
                        if (!ec && answer_check_ && !taken_by_check(buffers, n))
                            ec = boost::beast::http::error::body_limit;
                        handler(ec, n);
                    }));
            },
            token, buffers);
    }

    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& buffers) {
                const boost::system::error_code ec = shared_->error;
                std::size_t taken = 0;
                if (!ec) {
                    for (auto b : boost::beast::buffers_range_ref(buffers)) {
                        const auto* p = static_cast<const std::uint8_t*>(b.data());
                        shared_->pending.insert(shared_->pending.end(), p, p + b.size());
                        taken += b.size();
                    }
                    shared_->appended += taken;
                    schedule_flush();
                }
                boost::asio::post(get_executor(), boost::beast::bind_front_handler(std::move(handler), ec, taken));
            },
            token, buffers);
    }

    // Lets `fill` append bytes (whole frames) to the next write.
    template <class Fill>
    void append(Fill&& fill) {
        if (shared_->error) return;
        const std::size_t before = shared_->pending.size();
        fill(shared_->pending);
        shared_->appended += shared_->pending.size() - before;
        schedule_flush();
    }

    // True while audio should wait; then `on_writable` runs once the buffer
    // is below the mark again.
    bool backlogged() {
        if (shared_->pending.size() < high_water) return false;
        shared_->want_writable = true;
        return true;
    }
    void on_writable(std::function<void()> fn) { shared_->on_writable = std::move(fn); }

    // Bytes appended so far, and of them those the transport took (a byte
    // count of the stream, for telling which frames a lost connection may
    // have swallowed).
    std::uint64_t bytes_appended() const { return shared_->appended; }
    std::uint64_t bytes_taken() const { return shared_->taken; }
    // Sends of this io_context's batchers (of this transport) that went to
    // the kernel together (BatchedSends), for tests and diagnostics.
    std::uint64_t sends_batched() const { return shared_->flushes->batched(); }

    // Whatever owns this layer stays alive while a transport write is in
    // flight: Beast's writes complete at once, so nothing else holds it, and
    // a TLS stream's write touches the stream even when it is aborted.
    void keep_alive_while_writing(std::weak_ptr<void> owner) { shared_->owner_alive = std::move(owner); }

    // Runs `fn` once everything appended so far has been written (or the
    // transport failed): the close frame goes out before the teardown.
    void when_drained(std::function<void()> fn) {
        if (!shared_->writing && (shared_->pending.empty() || shared_->error)) return fn();
        shared_->on_drained = std::move(fn);
        schedule_flush();
    }

private:
    class FlushQueue;
    struct Shared {
        WriteBatcher* owner = nullptr;
        FlushQueue* flushes = nullptr;  // its io_context's
        std::vector<std::uint8_t> pending;    // appended since the last write began
        std::vector<std::uint8_t> in_flight;  // the transport is writing these
        bool writing = false;
        bool flush_posted = false;
        bool want_writable = false;
        boost::system::error_code error;  // the transport failed: nothing more is sent
        std::function<void()> on_writable;
        std::function<void()> on_drained;  // the teardown waiting for the last bytes
        std::weak_ptr<void> owner_alive;
        std::uint64_t appended = 0, taken = 0;
    };

    static void emptied(std::vector<std::uint8_t>& buffer) {
        if (buffer.capacity() > kept_bytes) std::vector<std::uint8_t>().swap(buffer);
        buffer.clear();
    }

    // The batchers of an io_context with something to write in this turn of
    // its thread: one posted handler writes them all once the turn is over.
    // (A handler posted by each allocated: a drain round fills hundreds of
    // paced connections, 20,000 sends a second at 400 raw calls.) The plain
    // TCP ones that can send at once go out together in one system call
    // (BatchedSends); the others flush one by one. It assumes what the
    // daemon does: one thread runs the io_context, no strands, and an
    // exception out of a handler ends the process (a flush that threw would
    // leave the batchers after it waiting).
    class FlushQueue final : public boost::asio::execution_context::service {
    public:
        static inline boost::asio::execution_context::id id;
        explicit FlushQueue(boost::asio::execution_context& context) : service(context) {}
        void add(const std::shared_ptr<Shared>& shared, const executor_type& executor) {
            due_.push_back(shared);
            if (due_.size() == 1) boost::asio::post(executor, [this] { flush_all(); });
        }
        std::uint64_t batched() const { return batch_.batched(); }

    private:
        void shutdown() override {
            due_.clear();
            flushing_.clear();
            batched_.clear();
        }
        void flush_all() {
            flushing_.swap(due_);  // those a flush schedules go in the next turn
            // Nothing runs between taking the buffers and sending them: only
            // the results below call back into the pool, which may append.
            for (const std::shared_ptr<Shared>& shared : flushing_) {
                shared->flush_posted = false;
                if (shared->owner && shared->owner->sendable_now()) {
                    sends_.push_back({shared->owner->native_fd(), shared->pending.data(), shared->pending.size()});
                    batched_.push_back(shared.get());
                }
            }
            batch_.send_all(sends_);
            for (std::size_t i = 0; i < batched_.size(); ++i)
                if (batched_[i]->owner) batched_[i]->owner->sent(sends_[i].result);
            for (const std::shared_ptr<Shared>& shared : flushing_)
                if (shared->owner) shared->owner->flush();  // the rest (TLS, or a write in flight)
            flushing_.clear();
            batched_.clear();
            sends_.clear();
        }
        std::vector<std::shared_ptr<Shared>> due_, flushing_;
        std::vector<Shared*> batched_;  // kept alive by flushing_
        std::vector<BatchedSends::Send> sends_;
        BatchedSends batch_;
    };

    // Queued, so that everything appended in this turn of the io thread goes
    // in one write.
    void schedule_flush() {
        if (shared_->writing || shared_->flush_posted) return;
        shared_->flush_posted = true;
        shared_->flushes->add(shared_, get_executor());
    }

    // Plain TCP first tries a non-blocking send of the whole batch: no
    // operation object, allocation or completion handler, which is most of
    // what a send costs the io thread. What the socket doesn't take (and all
    // of a TLS stream's batches) goes through the transport's async write.
    // True when the write already ended here (and written() told whoever
    // waits), so a caller in written() must not tell them again.
    bool flush() {
        if (!sendable()) return false;
        const int fd = native_fd();
        if (fd < 0) return sent(-EAGAIN);  // TLS: the record layer has to see every byte
        BatchedSends::Send send{fd, shared_->pending.data(), shared_->pending.size()};
        BatchedSends::send_one(send);
        return sent(send.result);
    }

    bool sendable() const { return !shared_->writing && !shared_->error && !shared_->pending.empty(); }
    // What the flush queue sends in its batch: plain TCP with bytes waiting.
    bool sendable_now() { return sendable() && native_fd() >= 0; }

    // A non-blocking send of the bytes waiting came back with `result`
    // (bytes taken, or -errno); what it did not take, and what was appended
    // since, is written asynchronously. Returns as flush().
    bool sent(ssize_t result) {
        Shared& s = *shared_;
        const std::size_t taken = result > 0 ? static_cast<std::size_t>(result) : 0;
        s.taken += taken;
        if (taken == s.pending.size()) {
            emptied(s.pending);
            written(shared_, {});
            return true;
        }
        if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK && result != -EINTR) {
            written(shared_, boost::system::error_code(static_cast<int>(-result),
                                                       boost::asio::error::get_system_category()));
            return true;
        }
        s.writing = true;
        s.in_flight.swap(s.pending);
        s.in_flight.erase(s.in_flight.begin(), s.in_flight.begin() + static_cast<std::ptrdiff_t>(taken));
        boost::asio::async_write(
            next_, boost::asio::buffer(s.in_flight),
            [shared = shared_, keep = s.owner_alive.lock()](boost::system::error_code ec, std::size_t n) {
                shared->taken += n;
                shared->writing = false;
                emptied(shared->in_flight);
                written(shared, ec);
            });
        return false;
    }

    // A write ended: on failure nothing more is sent (the read side reports
    // the loss); else what was appended meanwhile goes, then the teardown
    // waiting for the last bytes or the pool waiting for room is told.
    static void written(const std::shared_ptr<Shared>& shared, boost::system::error_code ec) {
        if (!shared->owner) return;
        if (ec) {
            shared->error = ec;
            std::vector<std::uint8_t>().swap(shared->pending);
        } else if (shared->owner->flush()) {
            return;  // what was appended meanwhile went at once, and its end was reported
        }
        if (!shared->writing && shared->on_drained) {
            std::exchange(shared->on_drained, nullptr)();
            return;
        }
        if (!ec && shared->want_writable && shared->pending.size() < high_water) {
            shared->want_writable = false;
            if (shared->on_writable) shared->on_writable();
        }
    }

    // The socket a send may use directly: plain TCP's. A send flagged
    // non-blocking, not a non-blocking socket: Beast's synchronous
    // operations on the stream keep their blocking behaviour.
    int native_fd() { return native_fd_of(next_); }
    template <class Stream>
    static int native_fd_of(Stream&) {
        return -1;
    }
    template <class Protocol, class Executor, class RatePolicy>
    static int native_fd_of(boost::beast::basic_stream<Protocol, Executor, RatePolicy>& stream) {
        return stream.socket().native_handle();
    }

    template <class Buffers>
    bool taken_by_check(const Buffers& buffers, std::size_t n) {
        for (auto b : boost::beast::buffers_range_ref(buffers)) {
            const std::size_t part = std::min(n, b.size());
            if (!answer_check_->take({static_cast<const char*>(b.data()), part})) return false;
            n -= part;
            if (n == 0) break;
        }
        return true;
    }

    Next next_;
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<UpgradeAnswerCheck> answer_check_;
};

// Beast closes the transport through these when the WebSocket ends.
template <class Next>
void teardown(boost::beast::role_type role, WriteBatcher<Next>& stream, boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, stream.next_layer(), ec);
}

template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, WriteBatcher<Next>& stream, Handler&& handler) {
    // The handler is move-only; the wait for the last bytes wants a copyable
    // callable, hence the one allocation per connection end.
    auto held = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
    stream.when_drained([role, &stream, held] {
        using boost::beast::websocket::async_teardown;
        async_teardown(role, stream.next_layer(), std::move(*held));
    });
}

}  // namespace voxfork::ws::detail
