// The connection pipeline, shaped like Beast's async-ssl client example: one
// handler per step, each failure reported through fail() with its Step, which
// policy.cpp maps to a reason string and a counter.
#include "link.hpp"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include "framing.hpp"
#include "upgrade.hpp"
#include "write_batcher.hpp"

namespace voxfork::ws::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// `192.0.2.1:443`, `[2001:db8::1]:443` (RFC 5952, as every show prints addresses).
std::string endpoint_string(const tcp::endpoint& e) {
    const auto endpoint = net::Endpoint::from_sockaddr(e.data());
    return endpoint ? endpoint->to_string() : authority(e.address().to_string(), e.port());
}

tcp::endpoint to_endpoint(const net::Address& address, std::uint16_t port) {
    if (address.is_v4()) return {asio::ip::address_v4(address.v4_host_order()), port};
    return {asio::ip::address_v6(address.bytes()), port};
}

Link::End classify(const error_code& ec) {
    if (!ec) return Link::End::none;
    if (ec == websocket::error::closed) return Link::End::remote_close;
    if (ec == asio::error::operation_aborted) return Link::End::aborted;
    // Beast's own protocol checks (oversized message, bad frame, bad UTF-8):
    // it has already answered with a close frame.
    if (ec == websocket::condition::protocol_violation || ec == websocket::error::message_too_big ||
        ec.category() == make_error_code(websocket::error::closed).category())
        return Link::End::protocol_error;
    return Link::End::transport;
}

template <class Transport>
class LinkImpl final : public Link {
public:
    using Stream = websocket::stream<WriteBatcher<Transport>>;

    template <class... Args>
    explicit LinkImpl(std::shared_ptr<ssl::context> tls, Args&&... transport)
        : tls_(std::move(tls)), ws_(std::forward<Args>(transport)...) {
        // Beast masks what it writes (text messages, pings, close) in a
        // buffer of this size, held for the connection's life: 4 KiB by
        // default. The audio bypasses it (framed by send_binary()) and the
        // few protocol messages of a connection's life pass through it in
        // pieces, so it need not hold one whole: with a connection per call
        // (AudioHook, raw) every byte of it is a byte per call. Each message
        // still goes out as one frame (Beast would otherwise make a frame of
        // each piece, which a server that does not reassemble frames would
        // misread).
        ws_.write_buffer_bytes(256);
        ws_.auto_fragment(false);
    }

    Stream& ws() { return ws_; }
    Transport& transport() { return ws_.next_layer().next_layer(); }

    void write(bool binary, const void* data, std::size_t size, Done done) override {
        ws_.binary(binary);
        ws_.async_write(asio::buffer(data, size), [done = std::move(done)](error_code ec, std::size_t) { done(ec); });
    }

    void send_binary(std::span<const std::uint8_t> payload) override {
        ws_.next_layer().append(
            [&](std::vector<std::uint8_t>& out) { append_binary_frame(out, payload, masks_.next()); });
    }

    bool backlogged() override { return !ws_.is_open() || ws_.next_layer().backlogged(); }
    void on_writable(std::function<void()> fn) override { ws_.next_layer().on_writable(std::move(fn)); }
    void keep_alive_while_writing(std::weak_ptr<void> owner) override {
        ws_.next_layer().keep_alive_while_writing(std::move(owner));
    }

    void read(ReadDone done) override {
        buffer_.clear();
        ws_.async_read(buffer_, [this, done = std::move(done)](error_code ec, std::size_t) {
            const auto data = buffer_.cdata();
            done(classify(ec), std::string_view(static_cast<const char*>(data.data()), data.size()), ws_.got_binary());
        });
    }

    void ping(Done done) override {
        ws_.async_ping({}, [done = std::move(done)](error_code ec) { done(ec); });
    }

    void close(std::uint16_t code, std::string_view reason, Done done) override {
        websocket::close_reason cr(static_cast<websocket::close_code>(code), reason);
        ws_.async_close(cr, [done = std::move(done)](error_code ec) { done(ec); });
    }

    void on_control_frame(std::function<void()> fn) override {
        ws_.control_callback([fn = std::move(fn)](websocket::frame_type, std::string_view) { fn(); });
    }

    std::string close_reason() const override { return std::string(ws_.reason().reason.c_str()); }
    std::uint16_t close_code() const override { return static_cast<std::uint16_t>(ws_.reason().code); }

    std::uint64_t bytes_handed() const override { return ws_.next_layer().bytes_appended(); }

    std::optional<std::uint64_t> bytes_acknowledged() override {
        if constexpr (!std::is_same_v<Transport, beast::tcp_stream>) {
            return std::nullopt;
        } else {
            // SIOCOUTQ: what the socket took and the peer has not acknowledged
            // (still right after a reset: the kernel keeps its sequence numbers).
            auto& socket = beast::get_lowest_layer(ws_).socket();
            int unacknowledged = 0;
            if (!socket.is_open() || ::ioctl(socket.native_handle(), SIOCOUTQ, &unacknowledged) != 0)
                return std::nullopt;
            const std::uint64_t taken = ws_.next_layer().bytes_taken();
            return taken - std::min<std::uint64_t>(taken, static_cast<std::uint64_t>(unacknowledged));
        }
    }

    void abort() override {
        error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).close();
    }

private:
    std::shared_ptr<ssl::context> tls_;  // must outlive the stream
    Stream ws_;
    beast::flat_buffer buffer_;
    MaskSource masks_;
};

using PlainLink = LinkImpl<beast::tcp_stream>;
using SecureLink = LinkImpl<beast::ssl_stream<beast::tcp_stream>>;

class ConnectOp final : public Attempt, public std::enable_shared_from_this<ConnectOp> {
public:
    ConnectOp(asio::io_context& io, std::shared_ptr<dns::Resolver> resolver, ConnectRequest request,
              std::function<void(ConnectOutcome)> done)
        : io_(io),
          resolver_(std::move(resolver)),
          req_(std::move(request)),
          done_(std::move(done)),
          timer_(io),
          stagger_(io),
          tcp_(io) {}

    void run() {
        timer_.expires_after(req_.timeout);
        timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec) self->on_timeout();
        });
        if (req_.profile->proxy) {
            step_ = Step::proxy_resolve;
            lookup(req_.profile->proxy->host, req_.profile->proxy->port);
        } else {
            step_ = Step::resolve;
            lookup(req_.key.host, req_.key.port);
        }
    }

    void cancel() override {
        if (finished_) return;
        finished_ = true;
        stop_io();
        // Never called now; what it holds (the pool's connection, which holds
        // this attempt) must not stay alive with it.
        done_ = nullptr;
    }

private:
    // Literals, `ip host` and DNS: the resolver's (dns.hpp).
    void lookup(const std::string& name, std::uint16_t port) {
        port_ = port;
        resolver_->resolve(name, [self = shared_from_this()](std::vector<net::Address> addresses) {
            self->on_resolve(std::move(addresses));
        });
    }

    void on_resolve(std::vector<net::Address> addresses) {
        if (finished_) return;
        if (addresses.empty()) return fail({}, "no address");
        step_ = Step::tcp_connect;
        // A socket bound to source-ip reaches addresses of its own family only.
        const auto source = req_.profile->source_ip ? net::Address::parse(*req_.profile->source_ip) : std::nullopt;
        for (const auto& a : addresses) {
            if (source && source->family() != a.family()) continue;
            endpoints_.push_back(to_endpoint(a, port_));
        }
        if (endpoints_.empty()) return fail({}, "no address of source-ip " + *req_.profile->source_ip + "'s family");
        start_attempt();
    }

    // The addresses race, RFC 8305 style (docs/websocket.md): each attempt
    // starts connection_attempt_delay after the one before it, or at once
    // when an attempt fails; the first connection wins and the others are
    // closed. Every socket is bound to source-ip.
    void start_attempt() {
        if (finished_ || won_ || next_endpoint_ >= endpoints_.size()) return;
        const tcp::endpoint target = endpoints_[next_endpoint_++];
        auto socket = std::make_shared<tcp::socket>(io_);
        error_code ec;
        socket->open(target.protocol(), ec);
        if (!ec && req_.profile->source_ip) {
            socket->bind(tcp::endpoint(asio::ip::make_address(*req_.profile->source_ip, ec), 0), ec);
        }
        if (ec) {
            error_code ignored;
            socket->close(ignored);
            return attempt_failed(target, ec);
        }
        racing_.push_back(socket);
        socket->async_connect(target, [self = shared_from_this(), socket, target](error_code ec) {
            self->on_attempt(socket, target, ec);
        });
        if (next_endpoint_ < endpoints_.size()) {
            // A wait cancelled after it expired still runs its handler without
            // an error: the generation tells a stale one from the current one.
            const unsigned generation = ++stagger_generation_;
            stagger_.expires_after(connection_attempt_delay);
            stagger_.async_wait([self = shared_from_this(), generation](error_code ec) {
                if (!ec && generation == self->stagger_generation_) self->start_attempt();
            });
        }
    }

    void on_attempt(const std::shared_ptr<tcp::socket>& socket, const tcp::endpoint& target, error_code ec) {
        if (finished_ || won_) return;
        std::erase(racing_, socket);
        if (ec) return attempt_failed(target, ec);
        won_ = true;
        stagger_.cancel();
        close_racing();
        tcp_.socket() = std::move(*socket);
        if (failed_attempts_ > 0)
            spdlog::info("ws: {} connected after {} address(es) failed", endpoint_string(target), failed_attempts_);
        on_connect();
    }

    void attempt_failed(const tcp::endpoint& target, error_code ec) {
        last_error_ = ec;
        ++failed_attempts_;
        const std::size_t left = endpoints_.size() - next_endpoint_;
        spdlog::info("ws: connecting to {} failed: {}{}", endpoint_string(target), ec.message(),
                     left ? "; trying the next address" : "");
        if (left) {
            stagger_.cancel();
            ++stagger_generation_;
            return start_attempt();
        }
        if (racing_.empty()) fail(last_error_, "every address failed");
    }

    void close_racing() {
        error_code ignored;
        for (auto& socket : racing_) socket->close(ignored);
        racing_.clear();
    }

    void on_connect() {
        error_code ignored;
        tcp_.socket().set_option(tcp::no_delay(true), ignored);
        local_ = endpoint_string(tcp_.socket().local_endpoint(ignored));
        if (req_.profile->proxy) return proxy_connect();
        server_ = endpoint_string(tcp_.socket().remote_endpoint(ignored));
        start_session();
    }

    // CONNECT host:port as the request gave them; the proxy resolves it.
    void proxy_connect() {
        step_ = Step::proxy_connect;
        const std::string target = authority(req_.key.host, req_.key.port);
        server_ = target;
        connect_req_ = {http::verb::connect, target, 11};
        connect_req_.set(http::field::host, target);
        connect_req_.set(http::field::user_agent, "voxforkd/" VOXFORK_VERSION);
        http::async_write(tcp_, connect_req_, [self = shared_from_this()](error_code ec, std::size_t) {
            if (self->finished_) return;
            if (ec) return self->fail(ec, "CONNECT write");
            http::async_read(self->tcp_, self->proxy_buffer_, prepare_proxy_reply(self->proxy_parser_),
                             [self](error_code ec, std::size_t) { self->on_proxy_reply(ec); });
        });
    }

    void on_proxy_reply(error_code ec) {
        if (finished_) return;
        if (ec) return fail(ec, "CONNECT reply");
        const int status = static_cast<int>(proxy_parser_->get().result_int());
        if (status / 100 != 2) {
            http_status_ = status;
            return fail({}, "proxy answered " + std::to_string(status));
        }
        if (proxy_buffer_.size() != 0) return fail({}, "proxy sent bytes after its reply");
        start_session();
    }

    void start_session() {
        tcp_moved_ = true;  // from here on the link's stream owns the socket
        if (!req_.key.secure) {
            auto link = std::make_unique<PlainLink>(nullptr, std::move(tcp_));
            return upgrade(std::move(link));
        }
        step_ = Step::tls_handshake;
        std::shared_ptr<ssl::context> tls;
        std::string error;
        if (!make_tls_context(tls, error)) return fail({}, error);
        auto link = std::make_unique<SecureLink>(tls, std::move(tcp_), *tls);
        auto& stream = link->transport();
        const std::string& host = req_.key.host;
        if (!dns::parse_literal(host)) {
            // SNI and the name check use the speech server's name, also
            // through a proxy: TLS runs end to end inside the tunnel.
            SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
            stream.set_verify_callback(ssl::host_name_verification(host));
        }
        auto* raw = link.get();
        abort_ = [raw] { raw->abort(); };
        stream.async_handshake(ssl::stream_base::client,
                               [self = shared_from_this(), link = std::move(link)](error_code ec) mutable {
                                   if (self->finished_) return;
                                   if (ec) return self->fail(ec, "TLS handshake");
                                   SSL* ssl = link->transport().native_handle();
                                   self->tls_version_ = SSL_get_version(ssl);
                                   if (self->tls_version_.rfind("TLSv", 0) == 0) self->tls_version_.erase(3, 1);
                                   self->cipher_ = SSL_get_cipher_name(ssl);
                                   self->upgrade(std::move(link));
                               });
    }

    bool make_tls_context(std::shared_ptr<ssl::context>& out, std::string& error) {
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
        SSL_CTX* native = ctx->native_handle();
        SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(native, req_.profile->allow_tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
        const std::string ciphers = openssl_cipher_list(req_.profile->ciphersuites);
        if (SSL_CTX_set_cipher_list(native, ciphers.c_str()) != 1) {
            error = "cipher list refused: " + ciphers;
            return false;
        }
        error_code ec;
        if (req_.ca_file) {
            ctx->load_verify_file(*req_.ca_file, ec);
        } else {
            ctx->set_default_verify_paths(ec);
        }
        if (ec) {
            error = "CA: " + ec.message();
            return false;
        }
        ctx->set_verify_mode(ssl::verify_peer);
        out = std::move(ctx);
        return true;
    }

    template <class L>
    void upgrade(std::unique_ptr<L> link) {
        step_ = Step::upgrade;
        auto& ws = link->ws();
        auto* raw = link.get();
        abort_ = [raw] { raw->abort(); };
        beast::get_lowest_layer(ws).expires_never();
        prepare_upgrade(ws, req_.key);
        ws.async_handshake(response_, upgrade_host(req_.key), upgrade_target(req_.key),
                           [self = shared_from_this(), link = std::move(link)](error_code ec) mutable {
                               if (self->finished_) return;
                               if (ec) {
                                   self->http_status_ = static_cast<int>(self->response_.result_int());
                                   return self->fail(ec, "upgrade");
                               }
                               link->ws().next_layer().check_upgrade_answer(false);
                               self->succeed(std::move(link));
                           });
    }

    template <class L>
    void succeed(std::unique_ptr<L> link) {
        finished_ = true;
        timer_.cancel();
        abort_ = nullptr;
        ConnectOutcome out;
        out.link = std::move(link);
        out.local_address = local_;
        out.server_address = server_;
        out.tls_version = tls_version_;
        out.cipher = cipher_;
        done_(std::move(out));
    }

    void on_timeout() {
        if (finished_) return;
        fail(asio::error::timed_out, "timed out");
    }

    void fail(error_code ec, const std::string& what) {
        if (finished_) return;
        finished_ = true;
        stop_io();
        ConnectOutcome out;
        out.failed = step_;
        out.http_status = http_status_;
        out.detail = what + (ec ? ": " + ec.message() : std::string());
        out.local_address = local_;
        out.server_address = server_;
        done_(std::move(out));
    }

    void stop_io() {
        timer_.cancel();
        stagger_.cancel();
        close_racing();
        error_code ignored;
        if (!tcp_moved_) tcp_.socket().close(ignored);
        if (abort_) abort_();
        abort_ = nullptr;
    }

    asio::io_context& io_;
    std::shared_ptr<dns::Resolver> resolver_;
    ConnectRequest req_;
    std::function<void(ConnectOutcome)> done_;
    asio::steady_timer timer_;
    asio::steady_timer stagger_;  // starts the next address's attempt
    std::vector<std::shared_ptr<tcp::socket>> racing_;  // attempts under way
    unsigned failed_attempts_ = 0;
    unsigned stagger_generation_ = 0;
    bool won_ = false;  // an attempt connected: the race is over
    beast::tcp_stream tcp_;
    Step step_ = Step::resolve;
    bool finished_ = false;
    bool tcp_moved_ = false;
    std::vector<tcp::endpoint> endpoints_;
    std::size_t next_endpoint_ = 0;
    std::uint16_t port_ = 0;
    error_code last_error_;
    int http_status_ = 0;
    http::request<http::empty_body> connect_req_;
    std::optional<ProxyReplyParser> proxy_parser_;
    beast::flat_buffer proxy_buffer_;
    websocket::response_type response_;
    std::function<void()> abort_;  // closes the stream once tcp_ has moved into a link
    std::string local_, server_, tls_version_ = "none", cipher_ = "none";
};

}  // namespace

std::shared_ptr<Attempt> connect(asio::io_context& io, std::shared_ptr<dns::Resolver> resolver, ConnectRequest request,
                                 std::function<void(ConnectOutcome)> done) {
    auto op = std::make_shared<ConnectOp>(io, std::move(resolver), std::move(request), std::move(done));
    op->run();
    return op;
}

}  // namespace voxfork::ws::detail
