// The metrics endpoint's HTTP/1.1 server. One client is one small object
// whose life is read request → write answer → read again (keep-alive) until
// the client closes, misbehaves or idles past the timeout.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <set>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "voxfork/metrics.hpp"

namespace voxfork::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

// A client that asks again at once waits this long for its next answer, so
// a loop of requests costs the control-plane thread at most ten renders a
// second per client (Prometheus scrapes every few seconds).
constexpr auto min_request_interval = std::chrono::milliseconds(100);

class MetricsClient : public std::enable_shared_from_this<MetricsClient> {
public:
    using Closed = std::function<void(MetricsClient*)>;

    MetricsClient(tcp::socket socket, const Metrics& metrics, const MetricsServer::Limits& limits, Closed on_closed)
        : stream_(std::move(socket)),
          pace_(stream_.get_executor()),
          buffer_(limits.max_request_bytes),
          metrics_(metrics),
          limits_(limits),
          on_closed_(std::move(on_closed)) {}

    void start() { read_request(); }
    void close() {
        pace_.cancel();
        boost::system::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

private:
    void read_request() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_.max_request_bytes));
        parser_->body_limit(0);  // a GET carries none
        // The timeout covers the whole request, so a client that sends a
        // byte at a time cannot hold its slot for longer.
        stream_.expires_after(limits_.idle_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
    }

    void on_request(beast::error_code ec) {
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
            return answer(http::status::request_header_fields_too_large, "request too large\n", false);
        if (ec == http::error::body_limit || ec == http::error::unexpected_body)
            return answer(http::status::bad_request, "a request body is not accepted\n", false);
        if (ec) return finish();  // closed, timed out or unparsable: nothing to answer
        last_request_ = std::chrono::steady_clock::now();
        const auto& request = parser_->get();
        const bool keep_alive = request.keep_alive();
        const bool head = request.method() == http::verb::head;
        if (request.method() != http::verb::get && !head)
            return answer(http::status::method_not_allowed, "GET /metrics\n", keep_alive);
        const std::string_view target(request.target().data(), request.target().size());
        const auto path = target.substr(0, target.find('?'));
        if (path != "/metrics") return answer(http::status::not_found, "GET /metrics\n", keep_alive);
        std::string text = metrics_.render();
        if (head) {
            const auto length = text.size();
            text.clear();
            return answer(http::status::ok, std::move(text), keep_alive, length);
        }
        answer(http::status::ok, std::move(text), keep_alive);
    }

    void answer(http::status status, std::string body, bool keep_alive, std::optional<std::size_t> head_length = {}) {
        response_ = {};
        response_.version(11);
        response_.result(status);
        response_.set(http::field::server, "voxforkd");
        response_.set(http::field::content_type, status == http::status::ok ? content_type : "text/plain");
        if (status == http::status::method_not_allowed) response_.set(http::field::allow, "GET, HEAD");
        response_.keep_alive(keep_alive);
        response_.body() = std::move(body);
        response_.prepare_payload();
        if (head_length) response_.content_length(*head_length);
        // A reader that does not read is closed at the same timeout.
        stream_.expires_after(limits_.idle_timeout);
        http::async_write(stream_, response_, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
            if (ec || !keep_alive) return self->finish();
            self->next_request();
        });
    }

    void next_request() {
        const auto due = last_request_ + min_request_interval;
        if (std::chrono::steady_clock::now() >= due) return read_request();
        pace_.expires_at(due);
        pace_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->finish();
            self->read_request();
        });
    }

    void finish() {
        close();
        if (on_closed_) std::exchange(on_closed_, nullptr)(this);
    }

    beast::tcp_stream stream_;
    asio::steady_timer pace_;
    std::chrono::steady_clock::time_point last_request_{};
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    http::response<http::string_body> response_;
    const Metrics& metrics_;
    const MetricsServer::Limits limits_;
    Closed on_closed_;
};

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
    Impl(asio::io_context& io, const Metrics& metrics, Limits limits)
        : metrics(metrics), limits(limits), acceptor(io) {}

    void accept() {
        acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
            if (!ec) self->admit(std::move(socket));
            self->accept();
        });
    }

    void admit(tcp::socket socket) {
        if (clients.size() >= limits.max_clients) {
            // Full: the newcomer goes, the clients already served stay.
            boost::system::error_code ignored;
            socket.close(ignored);
            return;
        }
        std::weak_ptr<Impl> weak = shared_from_this();
        auto client = std::make_shared<MetricsClient>(std::move(socket), metrics, limits, [weak](MetricsClient* c) {
            if (auto self = weak.lock()) self->clients.erase(c);
        });
        clients.insert(client.get());
        client->start();
    }

    void close() {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        // Each client's pending operation ends with an error and lets it go.
        for (MetricsClient* client : std::set<MetricsClient*>(clients)) client->close();
        clients.clear();
    }

    const Metrics& metrics;
    Limits limits;
    tcp::acceptor acceptor;
    std::set<MetricsClient*> clients;
};

MetricsServer::MetricsServer(asio::io_context& io, const Metrics& metrics, Limits limits)
    : impl_(std::make_shared<Impl>(io, metrics, limits)) {}

MetricsServer::~MetricsServer() {
    impl_->close();
}

void MetricsServer::open(const std::string& address, std::uint16_t port) {
    impl_->close();
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address_v4(address, ec);
    if (ec) throw std::runtime_error("metrics: bad address " + address);
    const tcp::endpoint endpoint(ip, port);
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        impl_->close();
        throw std::runtime_error("metrics: cannot listen on " + address + ":" + std::to_string(port) + ": " +
                                 ec.message());
    }
    spdlog::info("metrics: Prometheus endpoint on http://{}:{}/metrics", address, port);
    impl_->accept();
}

void MetricsServer::close() {
    impl_->close();
}

bool MetricsServer::is_open() const {
    return impl_->acceptor.is_open();
}

std::uint16_t MetricsServer::port() const {
    boost::system::error_code ec;
    const auto endpoint = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

std::size_t MetricsServer::clients() const {
    return impl_->clients.size();
}

}  // namespace voxfork::ops
