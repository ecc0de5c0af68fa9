#include "ws_sink.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
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
    explicit Impl(Protocol p) : protocol(p) {}
    const Protocol protocol;
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::thread thread;
    std::atomic<bool> measuring{false};
    // Everything below is touched by the io thread only, except through `mutex`
    // by counts() (a few calls per run).
    mutable std::mutex mutex;
    struct Channel {
        std::uint32_t next_seq = 0;
        bool started = false;  // raw, AudioHook: a stamped frame seen
    };
    std::unordered_map<std::uint32_t, Channel> channels;  // by channel id (voxfork-v1) or stamp stream
    SinkCounts totals;
    Histogram latency;

    struct Session : std::enable_shared_from_this<Session> {
        Session(Impl& o, tcp::socket s) : owner(o), ws(std::move(s)) {}
        Impl& owner;
        websocket::stream<tcp::socket> ws;
        beast::flat_buffer buffer;
        std::uint64_t server_seq = 0;  // AudioHook: the seq of our last message
        std::deque<std::string> replies;
        bool writing = false;
        StampScanner scanners[2];  // raw, separate: [0]; interleaved: a channel each

        void start() {
            if (owner.protocol == Protocol::voxfork_v1)
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
                if (self->ws.got_text() && self->owner.protocol == Protocol::audiohook) self->audiohook_message();
                self->owner.frame(self->ws.got_text(), self->buffer, self->scanners);
                self->buffer.consume(self->buffer.size());
                self->read();
            });
        }
        // The server's half of an AudioHook session, as little as keeps the
        // client going: both channels in PCMU, pongs, closed.
        void audiohook_message() {
            const auto m = nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
            if (!m.is_object()) return;
            const std::string type = m.value("type", "");
            nlohmann::json parameters = nlohmann::json::object();
            std::string answer;
            if (type == "open") {
                answer = "opened";
                parameters = {{"media", nlohmann::json::array({{{"type", "audio"},
                                                                 {"format", "PCMU"},
                                                                 {"channels", {"external", "internal"}},
                                                                 {"rate", 8000}}})},
                              {"startPaused", false}};
            } else if (type == "ping") {
                answer = "pong";
            } else if (type == "close") {
                answer = "closed";
            } else {
                return;
            }
            reply(nlohmann::json{{"version", "2"},
                                 {"type", answer},
                                 {"id", m.value("id", "")},
                                 {"seq", ++server_seq},
                                 {"clientseq", m.value("seq", 0)},
                                 {"parameters", parameters}}
                      .dump());
        }
        void reply(std::string text) {
            replies.push_back(std::move(text));
            if (!writing) write_next();
        }
        void write_next() {
            writing = !replies.empty();
            if (!writing) return;
            ws.text(true);
            ws.async_write(asio::buffer(replies.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
                self->replies.pop_front();
                if (ec) return;
                self->write_next();
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

    void frame(bool text, const beast::flat_buffer& buffer, StampScanner (&scanners)[2]) {
        std::uint64_t at = now_ns();
        auto data = static_cast<const unsigned char*>(buffer.data().data());
        std::size_t size = buffer.size();
        std::lock_guard lock(mutex);
        if (text) {
            std::string_view s(reinterpret_cast<const char*>(data), size);
            if (s.find("\"START\"") != s.npos || s.find("\"open\"") != s.npos) ++totals.starts;
            if (s.find("\"STOP\"") != s.npos || s.find("\"close\"") != s.npos) ++totals.stops;
            return;
        }
        ++totals.frames;
        const bool window = measuring.load(std::memory_order_relaxed);
        if (window) ++totals.window_frames;
        switch (protocol) {
            case Protocol::voxfork_v1: {
                if (size < 12) return;
                std::uint32_t channel = be32(data), seq = be32(data + 4);
                auto [it, fresh] = channels.try_emplace(channel);
                if (fresh) ++totals.channels;
                if (seq > it->second.next_seq) totals.dropped += seq - it->second.next_seq;
                it->second.next_seq = seq + 1;
                if (window && size >= 12 + stamp_size) latency.add(at - get_stamp(data + 12).sent_ns);
                return;
            }
            case Protocol::raw:
                scanners[0].scan(data, size, [&](const Stamp& s) { stamped(s, at, window); });
                return;
            case Protocol::raw_interleaved:
            case Protocol::audiohook: {
                // Two channels interleaved sample by sample: each one's bytes
                // put back together are the RTP payloads the bench sent.
                unsigned char channel[2][1024];
                const std::size_t samples = std::min<std::size_t>(size / 2, sizeof channel[0]);
                for (std::size_t i = 0; i < samples; ++i) {
                    channel[0][i] = data[2 * i];
                    channel[1][i] = data[2 * i + 1];
                }
                for (int c = 0; c < 2; ++c)
                    scanners[c].scan(channel[c], samples, [&](const Stamp& s) { stamped(s, at, window); });
                return;
            }
        }
    }

    void stamped(const Stamp& stamp, std::uint64_t at, bool window) {
        auto [it, fresh] = channels.try_emplace(stamp.stream);
        if (fresh) ++totals.channels;
        Channel& c = it->second;
        const auto expected = static_cast<std::uint16_t>(c.next_seq);
        if (c.started && stamp.packet != expected)
            totals.dropped += static_cast<std::uint16_t>(stamp.packet - expected);
        c.started = true;
        c.next_seq = static_cast<std::uint16_t>(stamp.packet + 1);
        if (window) latency.add(at - stamp.sent_ns);
    }
};

WsSink::WsSink(Receivers receivers, Protocol protocol) : impl_(std::make_unique<Impl>(protocol)) {
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
