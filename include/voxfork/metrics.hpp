// The Prometheus endpoint (`metrics listen ADDR:PORT`): the counters the show
// commands print, in the Prometheus text exposition format, served over a
// small HTTP/1.1 server (GET /metrics) on the control-plane io_context.
//
// Nothing here counts anything: each family is written at scrape time by a
// collector that reads the same counters struct a show command reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace voxfork::ops {

// Writes metric families in the text format, version 0.0.4: per family one
// `# HELP` and one `# TYPE` line, then its samples.
class MetricsWriter {
public:
    enum class Type { counter, gauge };
    using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

    // Begins the family `voxfork_<name>`; a counter's name ends in `_total`.
    void family(std::string_view name, Type type, std::string_view help);
    // One sample of the family begun last; label values are escaped here.
    void sample(std::uint64_t value, Labels labels = {});
    // A family of one unlabelled sample, the commonest kind.
    void counter(std::string_view name, std::string_view help, std::uint64_t value) {
        family(name, Type::counter, help);
        sample(value);
    }
    void gauge(std::string_view name, std::string_view help, std::uint64_t value) {
        family(name, Type::gauge, help);
        sample(value);
    }
    // A sample in seconds, from a count of milliseconds (printed exactly: 0.05).
    void sample_milliseconds_as_seconds(std::uint64_t milliseconds, Labels labels = {});
    const std::string& text() const { return out_; }

private:
    void sample_text(const std::string& value, Labels labels);
    std::string out_;
    std::string name_;
};

// The collectors, in the order their families are written.
class Metrics {
public:
    using Collector = std::function<void(MetricsWriter&)>;
    void add(Collector collector) { collectors_.push_back(std::move(collector)); }
    std::string render() const;

private:
    std::vector<Collector> collectors_;
};

// GET (or HEAD) /metrics answers 200 with the rendered text; another path
// 404, another method 405. A scrape is one short call on the control-plane
// thread. A client can cost no more than one of `max_clients` slots for
// `idle_timeout` and `max_request_bytes` of buffer: beyond the cap a new
// connection is closed at once, a request that is too big is answered 431
// and closed, one that is too slow (or a reader that does not read) is closed
// at the timeout, and a client asking in a loop gets one answer per 100 ms.
class MetricsServer {
public:
    struct Limits {
        std::size_t max_clients = 8;
        std::chrono::milliseconds idle_timeout{10000};
        std::size_t max_request_bytes = 8192;
    };

    MetricsServer(boost::asio::io_context& io, const Metrics& metrics, Limits limits);
    MetricsServer(boost::asio::io_context& io, const Metrics& metrics) : MetricsServer(io, metrics, Limits{}) {}
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds ADDR:PORT (IPv4, dotted) and listens; throws std::runtime_error
    // saying why when it can't. Opening again moves it.
    void open(const std::string& address, std::uint16_t port);
    // Stops listening and closes every client.
    void close();
    bool is_open() const;
    std::uint16_t port() const;  // the bound port (0 when closed)
    std::size_t clients() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace voxfork::ops
