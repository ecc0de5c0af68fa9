#include "server.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "faults.hpp"
#include "protocol.hpp"

namespace speech {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;

// What all sessions share: options, output and the fault modes.
struct Context {
    const Options& options;
    Recorder& recorder;
    FaultPlan faults;
    Outage& outage;
};

json or_null(const http::request<http::string_body>& req, http::field f) {
    auto it = req.find(f);
    return it == req.end() ? json() : json(std::string(it->value()));
}

template <class Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

// One client connection from accept to close. Its life is a line of steps:
// [TLS handshake] → read the upgrade request → judge it (faults, then the
// protocol: token, subprotocol, headers) → accept → read loop, each frame
// through the protocol and then the frame-count faults.
template <class Stream>
class Session : public Resettable, public Replies, public std::enable_shared_from_this<Session<Stream>> {
public:
    template <class... Args>
    Session(Context& ctx, Args&&... args)
        : ctx_(ctx),
          ws_(std::forward<Args>(args)...),
          timer_(ws_.get_executor()),
          conn_(ctx.recorder.next_connection_id()),
          protocol_(make_protocol(ctx.options, ctx.recorder, conn_, *this)) {}

    void run() {
        auto& sock = beast::get_lowest_layer(ws_).socket();
        boost::system::error_code ec;
        auto peer = sock.remote_endpoint(ec);
        info_ = {{"conn", conn_},
                 {"peer", peer.address().to_string() + ":" + std::to_string(peer.port())},
                 {"tls", is_tls<Stream>}};
        ctx_.outage.track(this->shared_from_this());
        if (opt().black_hole && ctx_.faults.take()) {
            // Accepted by the kernel, never read: the client's upgrade waits for ever.
            note("black-hole", 0);
            ctx_.outage.park(this->shared_from_this());
            return;
        }
        beast::get_lowest_layer(ws_).expires_after(30s);
        if constexpr (is_tls<Stream>) {
            ws_.next_layer().async_handshake(
                ssl::stream_base::server,
                [self = this->shared_from_this()](beast::error_code ec) { self->on_tls_handshake(ec); });
        } else {
            read_request();
        }
    }

private:
    const Options& opt() const { return ctx_.options; }
    Recorder& rec() { return ctx_.recorder; }

    void on_tls_handshake(beast::error_code ec) {
        if (ec) {
            json e = info_;
            e["event"] = "tls-error";
            e["error"] = ec.message();
            rec().echo(e.dump());
            rec().event(std::move(e));
            return;
        }
        if constexpr (is_tls<Stream>) {
            SSL* ssl = ws_.next_layer().native_handle();
            info_["tls_version"] = SSL_get_version(ssl);
            info_["cipher"] = SSL_get_cipher_name(ssl);
            const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            info_["sni"] = sni ? json(sni) : json();
        }
        read_request();
    }

    void read_request() {
        http::async_read(
            ws_.next_layer(), buffer_, req_,
            [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
    }

    void on_request(beast::error_code ec) {
        if (ec) {
            json e = info_;
            e["event"] = "http-error";
            e["error"] = ec.message();
            rec().event(std::move(e));
            return;
        }
        info_["path"] = std::string(req_.target());
        info_["method"] = std::string(req_.method_string());
        info_["host"] = or_null(req_, http::field::host);
        info_["user_agent"] = or_null(req_, http::field::user_agent);
        info_["authorization"] = or_null(req_, http::field::authorization);
        info_["subprotocols"] = or_null(req_, http::field::sec_websocket_protocol);
        json token;
        if (auto it = req_.find(http::field::authorization); it != req_.end() && it->value().starts_with("Bearer "))
            token = std::string(it->value().substr(7));
        info_["token"] = token;
        json headers = json::object();
        for (const auto& h : req_) {
            std::string name(h.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value(h.value());
            headers[name] = headers.contains(name) ? headers[name].get<std::string>() + ", " + value : value;
        }
        info_["headers"] = headers;
        faulty_ = ctx_.faults.any() && ctx_.faults.take();

        if (opt().upgrade_delay_ms > 0) {
            timer_.expires_after(std::chrono::milliseconds(opt().upgrade_delay_ms));
            timer_.async_wait([self = this->shared_from_this()](beast::error_code) { self->judge_upgrade(); });
        } else {
            judge_upgrade();
        }
    }

    void judge_upgrade() {
        const Options& o = opt();
        if (faulty_ && o.hang_upgrade) {
            reject("hang-upgrade", json());
            beast::get_lowest_layer(ws_).expires_never();
            return wait_for_eof();
        }
        if (faulty_ && o.garbage_response) {
            reject("garbage-response", json());
            auto garbage = std::make_shared<std::string>("\x16\x03 this is not HTTP \xff\xfe\r\n\r\n");
            asio::async_write(ws_.next_layer(), asio::buffer(*garbage),
                              [self = this->shared_from_this(), garbage](beast::error_code, std::size_t) {
                                  self->half_close_and_drain();
                              });
            return;
        }
        if (faulty_ && o.refuse_upgrade) return refuse(o.refuse_upgrade, "refuse-upgrade");
        if (!websocket::is_upgrade(req_)) return refuse(400, "not a WebSocket upgrade");
        const Verdict verdict = protocol_->judge({std::string(req_.target()), info_["headers"]});
        if (verdict.status) return refuse(verdict.status, verdict.reason);
        if (faulty_ && o.bad_accept) return send_bad_accept(verdict.subprotocol);

        const std::string answered = faulty_ && o.no_subprotocol ? std::string() : verdict.subprotocol;
        // RFC 6455 4.1: no frame may precede the 101. Such bytes cannot be
        // replayed into the WebSocket layer after the request was judged, so they
        // are reported and dropped.
        if (buffer_.size()) {
            rec().violation(
                conn_, std::nullopt, "early-data",
                std::to_string(buffer_.size()) + " bytes sent after the upgrade request, before its answer");
            buffer_.consume(buffer_.size());
        }
        info_["subprotocol"] = answered.empty() ? json() : json(answered);
        ws_.set_option(websocket::stream_base::decorator([answered](websocket::response_type& res) {
            res.set(http::field::server, "voxfork-speech-server");
            if (!answered.empty()) res.set(http::field::sec_websocket_protocol, answered);
        }));
        // The WebSocket layer keeps its own timers; the TCP one would cut idle calls.
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout t{};
        t.handshake_timeout = 30s;
        t.idle_timeout = websocket::stream_base::none();
        t.keep_alive_pings = false;
        ws_.set_option(t);
        ws_.read_message_max(1 << 20);
        ws_.auto_fragment(false);
        ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
            const char* name = kind == websocket::frame_type::ping   ? "ping"
                               : kind == websocket::frame_type::pong ? "pong"
                                                                     : "close-frame";
            rec().event({{"event", name}, {"conn", conn_}, {"payload", std::string(payload)}});
        });
        ws_.async_accept(req_, [self = this->shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
    }

    void reject(const std::string& reason, json status) {
        json e = info_;
        e["event"] = "rejected";
        e["status"] = std::move(status);
        e["reason"] = reason;
        rec().echo(e.dump());
        rec().event(std::move(e));
    }

    void refuse(int status, const std::string& reason) {
        reject(reason, status);
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
        res->set(http::field::server, "voxfork-speech-server");
        res->set(http::field::content_type, "text/plain");
        if (status == 401) res->set(http::field::www_authenticate, "Bearer");
        res->body() = reason + "\n";
        res->keep_alive(false);
        res->prepare_payload();
        http::async_write(
            ws_.next_layer(), *res,
            [self = this->shared_from_this(), res](beast::error_code, std::size_t) { self->half_close_and_drain(); });
    }

    void send_bad_accept(const std::string& subprotocol) {
        reject("bad-accept", 101);
        auto res = std::make_shared<http::response<http::empty_body>>(http::status::switching_protocols, 11);
        res->set(http::field::upgrade, "websocket");
        res->set(http::field::connection, "Upgrade");
        res->set(http::field::sec_websocket_accept, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        if (!subprotocol.empty()) res->set(http::field::sec_websocket_protocol, subprotocol);
        beast::get_lowest_layer(ws_).expires_never();
        http::async_write(
            ws_.next_layer(), *res,
            [self = this->shared_from_this(), res](beast::error_code, std::size_t) { self->wait_for_eof(); });
    }

    // After an answer that ends the exchange: FIN, then wait for the client to go.
    void half_close_and_drain() {
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_send, ignored);
        beast::get_lowest_layer(ws_).expires_after(10s);
        wait_for_eof();
    }

    void wait_for_eof() {
        ws_.next_layer().async_read_some(buffer_.prepare(4096),
                                         [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                                             self->buffer_.consume(n);
                                             if (!ec) return self->wait_for_eof();
                                             self->log_close("tcp", std::nullopt, ec);
                                         });
    }

    void on_accept(beast::error_code ec) {
        if (ec) {
            json e = info_;
            e["event"] = "upgrade-error";
            e["error"] = ec.message();
            rec().event(std::move(e));
            return;
        }
        json e = info_;
        e["event"] = "open";
        rec().echo(e.dump());
        rec().event(std::move(e));
        protocol_->on_accepted();
        if (after_frames(0)) read_next();
    }

    void read_next() {
        ws_.async_read(
            buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        // A message read before a reset (a restart, --reset-after-frames)
        // whose handler runs after it: a crashed server never saw it. Taking
        // it would count its seq with no file left to write it to, and the
        // client's replay of it would then be dropped as a repeat.
        if (closed_) return;
        if (ec) {
            // Our own close handshake ends the read; start_close's handler logs it.
            if (server_closing_ && ec == asio::error::operation_aborted) return;
            if (ec == websocket::error::closed)
                return log_close(server_closing_ ? "server" : "client", ws_.reason(), ec);
            return log_close("tcp", std::nullopt, ec);
        }
        std::uint32_t channel = 0;
        auto data = buffer_.cdata();
        if (ws_.got_text())
            protocol_->on_text(std::string_view(static_cast<const char*>(data.data()), n));
        else
            channel = protocol_->on_binary(static_cast<const std::uint8_t*>(data.data()), n);
        buffer_.consume(n);
        bool keep_reading = ws_.got_text() || after_frames(protocol_->frames(), channel);
        if (keep_reading) read_next();
    }

    void reset(const char* why) override {
        if (closed_) return;
        auto& sock = beast::get_lowest_layer(ws_).socket();
        boost::system::error_code ignored;
        sock.set_option(asio::socket_base::linger(true, 0), ignored);  // close sends RST
        sock.close(ignored);
        log_close(why, std::nullopt, {});
    }

    // Runs the faults due after `frames` audio frames; false when reading must stop.
    bool after_frames(std::uint64_t frames, std::uint32_t channel = 0) {
        if (!faulty_) return true;
        const Options& o = opt();
        const DueFaults due = ctx_.faults.due(frames, channel != 0);
        if (due.restart) {
            note("restart", frames, {{"seconds", o.restart_seconds}});
            ctx_.outage.restart();
            return false;
        }
        if (due.reset) {
            note("reset", frames);
            reset("server-reset");
            return false;
        }
        if (due.server_stop) {
            if (auto stop = protocol_->server_stop(channel, o.stop_reason)) {
                note("server-stop", frames, {{"channel", channel}, {"msg", json::parse(*stop)}});
                send(true, std::move(*stop));
            }
        }
        if (due.server_pause) {
            if (auto pause = protocol_->server_pause(false)) {
                note("server-pause", frames, {{"seconds", o.server_pause_seconds}});
                send(true, std::move(*pause));
                timer_.expires_after(
                    std::chrono::milliseconds(static_cast<std::int64_t>(o.server_pause_seconds * 1000)));
                timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
                    if (ec || self->closed_) return;
                    if (auto resume = self->protocol_->server_pause(true)) {
                        self->rec().event({{"event", "server-resume"}, {"conn", self->conn_}});
                        self->send(true, std::move(*resume));
                    }
                });
            }
        }
        if (due.send_binary) {
            note("send-binary", frames);
            send(false, std::string("\0\0\0\1\0\0\0\0\0\0\0\0binary", 18));
        }
        if (due.send_text) {
            note("send-text", frames, {{"text", o.send_text}});
            send(true, o.send_text);
        }
        if (due.close) {
            note("server-close", frames, {{"code", o.close_code}, {"reason", o.close_reason}});
            close_pending_ = true;
            if (!writing_) start_close();
        }
        if (due.stop_reading) {
            note("stop-reading", frames);
            ctx_.outage.park(this->shared_from_this());
            return false;
        }
        return true;
    }

    void note(const char* what, std::uint64_t frames, json extra = json::object()) {
        extra["event"] = what;
        extra["conn"] = conn_;
        extra["frames"] = frames;
        rec().event(std::move(extra));
    }

    void send_text(std::string text) override { send(true, std::move(text)); }

    void send(bool text, std::string data) {
        out_.emplace_back(text, std::move(data));
        if (!writing_) write_next();
    }

    void write_next() {
        if (out_.empty()) {
            writing_ = false;
            if (close_pending_) start_close();
            return;
        }
        writing_ = true;
        ws_.text(out_.front().first);
        ws_.async_write(asio::buffer(out_.front().second),
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                            self->out_.pop_front();
                            if (ec) {
                                self->out_.clear();
                                self->writing_ = false;
                                return;
                            }
                            self->write_next();
                        });
    }

    void start_close() {
        if (server_closing_) return;
        close_pending_ = false;
        server_closing_ = true;
        websocket::close_reason reason;
        reason.code = static_cast<std::uint16_t>(opt().close_code);
        reason.reason = opt().close_reason;
        ws_.async_close(reason, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) return self->log_close("server", std::nullopt, ec);
            self->log_close("server", self->ws_.reason(), ec);
        });
    }

    void log_close(const char* by, std::optional<websocket::close_reason> reason, beast::error_code ec) {
        if (closed_) return;
        closed_ = true;
        json e = {{"event", "close"},
                  {"conn", conn_},
                  {"by", by},
                  {"frames", protocol_->frames()},
                  {"open_channels", protocol_->on_close()}};
        e["code"] = reason ? json(reason->code) : json();
        e["reason"] = reason ? json(std::string(reason->reason.c_str())) : json();
        bool graceful = !ec || ec == websocket::error::closed;
        e["error"] = graceful ? json() : json(ec.message());
        rec().echo(e.dump());
        rec().event(std::move(e));
    }

    Context& ctx_;
    websocket::stream<Stream> ws_;
    asio::steady_timer timer_;
    std::uint64_t conn_;
    std::unique_ptr<Protocol> protocol_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    json info_;
    bool faulty_ = false;
    std::deque<std::pair<bool, std::string>> out_;
    bool writing_ = false;
    bool close_pending_ = false;
    bool server_closing_ = false;
    bool closed_ = false;
};

std::optional<ssl::context> make_tls_context(const Options& o) {
    if (o.cert_file.empty()) return std::nullopt;
    ssl::context ctx(ssl::context::tls_server);
    ctx.use_certificate_chain_file(o.cert_file);
    ctx.use_private_key_file(o.key_file, ssl::context::pem);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, o.tls_min == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, o.tls_max == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION);
    if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(native, o.ciphers.c_str()) != 1)
        throw std::runtime_error("no usable cipher in --ciphers " + o.ciphers);
    return ctx;
}

class Server {
public:
    Server(asio::io_context& ioc, Context& ctx)
        : ioc_(ioc),
          ctx_(ctx),
          acceptor_(ioc),
          signals_(ioc, SIGINT, SIGTERM),
          flush_timer_(ioc),
          tls_(make_tls_context(ctx.options)) {
        ctx_.outage.set_listener(
            [this] {
                boost::system::error_code ignored;
                acceptor_.close(ignored);
            },
            [this] { listen(port_); });
    }

    void start() {
        listen(ctx_.options.listen_port);
        const Options& o = ctx_.options;
        const char* scheme = tls_ ? "wss" : "ws";
        const bool ipv6 = o.listen_addr.find(':') != std::string::npos;
        std::printf("speech-server listening on %s://%s%s%s:%u\n", scheme, ipv6 ? "[" : "", o.listen_addr.c_str(),
                    ipv6 ? "]" : "", port_);
        std::fflush(stdout);
        signals_.async_wait([this](beast::error_code ec, int sig) {
            if (!ec) shutdown(sig);
        });
        tick();
    }

private:
    void listen(std::uint16_t port) {
        const Options& o = ctx_.options;
        tcp::endpoint ep(asio::ip::make_address(o.listen_addr), port);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        // Set before listen so accepted sockets inherit it and the window scale fits.
        if (o.rcvbuf) acceptor_.set_option(asio::socket_base::receive_buffer_size(o.rcvbuf));
        acceptor_.bind(ep);
        acceptor_.listen(asio::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
        ctx_.recorder.event({{"event", "listening"}, {"addr", o.listen_addr}, {"port", port_}, {"tls", bool(tls_)}});
        accept();
    }

    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket sock) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) {
                if (ctx_.options.rcvbuf) {
                    boost::system::error_code ignored;
                    sock.set_option(asio::socket_base::receive_buffer_size(ctx_.options.rcvbuf), ignored);
                }
                if (tls_)
                    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(ctx_, std::move(sock), *tls_)
                        ->run();
                else
                    std::make_shared<Session<beast::tcp_stream>>(ctx_, std::move(sock))->run();
            }
            accept();
        });
    }

    // Frame lines and WAV headers reach the disk at most 50 ms late, without a
    // write per frame.
    void tick() {
        flush_timer_.expires_after(50ms);
        flush_timer_.async_wait([this](beast::error_code ec) {
            if (ec) return;
            ctx_.recorder.flush();
            tick();
        });
    }

    void shutdown(int sig) {
        ctx_.recorder.event({{"event", "signal"}, {"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        flush_timer_.cancel();
        summary_ = ctx_.recorder.finish();
        ioc_.stop();
    }

public:
    json summary_;

private:
    asio::io_context& ioc_;
    Context& ctx_;
    tcp::acceptor acceptor_;
    asio::signal_set signals_;
    asio::steady_timer flush_timer_;
    std::optional<ssl::context> tls_;
    std::uint16_t port_ = 0;
};

}  // namespace

int serve(const Options& options, Recorder& recorder) {
    asio::io_context ioc{1};
    Outage outage(ioc, options, recorder);
    Context ctx{options, recorder, FaultPlan(options), outage};
    json summary;
    {
        Server server(ioc, ctx);
        server.start();
        ioc.run();
        summary = server.summary_;
        outage.stop();
    }
    if (options.summary) std::printf("%s\n", summary.dump(2).c_str());
    return 0;
}

}  // namespace speech
