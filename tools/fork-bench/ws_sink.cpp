#include "ws_sink.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace forkbench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

struct WsSink::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::thread thread;
    std::atomic<bool> measuring{false};
    // Everything below is touched by the io thread only, except through `mutex`
    // by counts() (a few calls per run).
    mutable std::mutex mutex;
    struct Channel {
        std::uint32_t next_seq = 0;
    };
    std::unordered_map<std::uint32_t, Channel> channels;
    SinkCounts totals;
    Histogram latency;

    struct Session : std::enable_shared_from_this<Session> {
        Session(Impl& o, tcp::socket s) : owner(o), ws(std::move(s)) {}
        Impl& owner;
        websocket::stream<tcp::socket> ws;
        beast::flat_buffer buffer;

        void start() {
            ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
                res.set(beast::http::field::sec_websocket_protocol, "voxfork.v1");
            }));
            ws.async_accept([self = shared_from_this()](beast::error_code ec) {
                if (!ec) self->read();
            });
        }
        void read() {
            ws.async_read(buffer, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return;
                self->owner.frame(self->ws.got_text(), self->buffer);
                self->buffer.consume(self->buffer.size());
                self->read();
            });
        }
    };

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
            if (ec) return;
            s.set_option(tcp::no_delay(true));
            {
                std::lock_guard lock(mutex);
                ++totals.connections;
            }
            std::make_shared<Session>(*this, std::move(s))->start();
            accept();
        });
    }

    void frame(bool text, const beast::flat_buffer& buffer) {
        std::uint64_t at = now_ns();
        auto data = static_cast<const unsigned char*>(buffer.data().data());
        std::size_t size = buffer.size();
        std::lock_guard lock(mutex);
        if (text) {
            std::string_view s(reinterpret_cast<const char*>(data), size);
            if (s.find("\"START\"") != s.npos) ++totals.starts;
            if (s.find("\"STOP\"") != s.npos) ++totals.stops;
            return;
        }
        if (size < 12) return;
        std::uint32_t channel = be32(data), seq = be32(data + 4);
        auto [it, fresh] = channels.try_emplace(channel);
        if (fresh) ++totals.channels;
        if (seq > it->second.next_seq) totals.dropped += seq - it->second.next_seq;
        it->second.next_seq = seq + 1;
        ++totals.frames;
        if (measuring.load(std::memory_order_relaxed)) {
            ++totals.window_frames;
            if (size >= 12 + stamp_size) latency.add(at - get_stamp(data + 12).sent_ns);
        }
    }
};

WsSink::WsSink(Receivers receivers) : impl_(std::make_unique<Impl>()) {
    impl_->accept();
    if (receivers == Receivers::wake) {
        impl_->thread = std::thread([this] { impl_->io.run(); });
        return;
    }
    // Asio's reactor is only polled, so voxforkd's sends queue data and mark
    // the socket ready without waking anyone. A frame's latency includes up
    // to one interval of this polling: it errs against voxforkd.
    impl_->thread = std::thread([this] {
        auto guard = asio::make_work_guard(impl_->io);
        while (!impl_->io.stopped()) {
            impl_->io.poll();
            pause_between_polls();
        }
    });
}

WsSink::~WsSink() {
    stop();
}

std::uint16_t WsSink::port() const {
    return impl_->acceptor.local_endpoint().port();
}

void WsSink::measure(bool on) {
    impl_->measuring = on;
}

SinkCounts WsSink::counts() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->totals;
}

const Histogram& WsSink::latency() const {
    return impl_->latency;
}

void WsSink::stop() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace forkbench
