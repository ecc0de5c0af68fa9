// The connection pipeline (resolve, TCP, proxy CONNECT, TLS, upgrade) and the
// open WebSocket it yields. Boost.Beast lives behind this header, in link.cpp
// only, so the rest of the part compiles quickly.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

#include <voxfork/config.hpp>
#include <voxfork/ws.hpp>

#include <voxfork/dns.hpp>

#include "policy.hpp"

namespace boost::asio {
class io_context;
}

namespace voxfork::ws::detail {

// An open WebSocket. One write and one read may be outstanding; ping and
// close may overlap a write. Every frame goes through a write batcher
// (write_batcher.hpp): what is sent in one turn of the io thread leaves in one
// socket write.
class Link {
public:
    using Done = std::function<void(boost::system::error_code)>;
    // How a read ended.
    enum class End { none, remote_close, protocol_error, transport, aborted };
    using ReadDone = std::function<void(End end, std::string_view payload, bool binary)>;
    virtual ~Link() = default;
    virtual void write(bool binary, const void* data, std::size_t size, Done done) = 0;
    // A binary message that completes at once: framed here and batched with
    // whatever else goes out in this turn. Not while a write() is in progress
    // (its frames must stay together).
    virtual void send_binary(std::span<const std::uint8_t> payload) = 0;
    // True while send_binary should wait: the write batch is full (`fn` runs
    // when it may go on) or the WebSocket is closing (no data after a close).
    virtual bool backlogged() = 0;
    virtual void on_writable(std::function<void()> fn) = 0;
    // `owner` (the link's owner) is held while a socket write is in flight.
    virtual void keep_alive_while_writing(std::weak_ptr<void> owner) = 0;
    virtual void read(ReadDone done) = 0;
    virtual void ping(Done done) = 0;
    virtual void close(std::uint16_t code, std::string_view reason, Done done) = 0;
    // Runs for every ping, pong or close frame the server sends.
    virtual void on_control_frame(std::function<void()> fn) = 0;
    // The close frame's reason after End::remote_close.
    virtual std::string close_reason() const = 0;
    virtual std::uint16_t close_code() const = 0;
    // Drops the TCP connection at once.
    virtual void abort() = 0;
    // Bytes of WebSocket frames handed to the link so far.
    virtual std::uint64_t bytes_handed() const = 0;
    // Of them, those the server's TCP acknowledged (asked before abort()):
    // plain TCP only (under TLS the socket's bytes are records, not frames);
    // none when the socket cannot tell.
    virtual std::optional<std::uint64_t> bytes_acknowledged() = 0;
};

// A profile as the configuration it came from holds it (that configuration
// stays alive with it): a connection refers to it rather than copying it.
using ProfilePtr = std::shared_ptr<const config::StreamServiceProfile>;

struct ConnectRequest {
    ConnectionKey key;
    ProfilePtr profile;  // never null
    std::optional<std::string> ca_file;  // unset: the system store
    std::chrono::milliseconds timeout{10000};
};

struct ConnectOutcome {
    std::unique_ptr<Link> link;  // set on success
    std::optional<Step> failed;  // set on failure
    int http_status = 0;         // CONNECT's or the upgrade's answer, if any
    std::string detail;          // for the log
    std::string local_address;   // ip:port
    std::string server_address;  // ip:port of the server (host:port through a proxy)
    std::string tls_version = "none";
    std::string cipher = "none";
};

// A connection attempt in progress; cancel() makes it end silently.
class Attempt {
public:
    virtual ~Attempt() = default;
    virtual void cancel() = 0;
};

std::shared_ptr<Attempt> connect(boost::asio::io_context& io, std::shared_ptr<dns::Resolver> resolver,
                                 ConnectRequest request, std::function<void(ConnectOutcome)> done);

}  // namespace voxfork::ws::detail
