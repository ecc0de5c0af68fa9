// The two HTTP answers the connection pipeline reads from the network before
// the WebSocket runs: the proxy's reply to CONNECT and the server's answer to
// the upgrade. How each is read is set up here, once, for link.cpp and for
// the fuzz target that feeds them arbitrary bytes (tests/fuzz/ws_upgrade_fuzz.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <voxfork/ws.hpp>

#include "policy.hpp"

namespace voxfork::ws::detail {

// The largest message read from a speech server.
inline constexpr std::size_t max_read_message = 64 * 1024;

// Beast reads the answer to the upgrade with a parser that puts no limit on a
// response's body and reserves a Content-Length's worth of memory as soon as
// the header is read: "Content-Length: 99999999999999" from a speech server
// threw bad_alloc out of the io thread, a smaller huge one took the memory
// (found by fuzzing). The answer's bytes pass through this check before
// Beast sees them (WriteBatcher, while the upgrade is read).
class UpgradeAnswerCheck {
public:
    // A 101 is a few hundred bytes; an error page with it a few KiB.
    static constexpr std::size_t max_bytes = 64 * 1024;
    // False: the answer is refused (too long, or a Content-Length over max_bytes).
    bool take(std::string_view bytes);

private:
    std::string header_;  // until its empty line
    bool header_read_ = false;
    std::size_t total_ = 0;
};

using ProxyReplyParser = boost::beast::http::response_parser<boost::beast::http::empty_body>;

// A fresh parser for the reply to CONNECT: a 200 to CONNECT has no body,
// whatever its headers say.
inline ProxyReplyParser& prepare_proxy_reply(std::optional<ProxyReplyParser>& parser) {
    parser.emplace();
    parser->skip(true);
    return *parser;
}

// The upgrade request as the key asks for it: the protocol's subprotocol and
// headers (ws knows none of their meaning), no timers of Beast's own (the
// pool runs its own ping and idle timers; the connect timer covers the
// handshake).
template <class Stream>
void prepare_upgrade(boost::beast::websocket::stream<Stream>& ws, const ConnectionKey& key) {
    namespace websocket = boost::beast::websocket;
    namespace http = boost::beast::http;
    websocket::stream_base::timeout t{};
    t.handshake_timeout = websocket::stream_base::none();
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.read_message_max(max_read_message);
    ws.next_layer().check_upgrade_answer(true);
    ws.set_option(websocket::stream_base::decorator(
        [subprotocol = key.subprotocol, headers = key.headers](websocket::request_type& r) {
            if (!subprotocol.empty()) r.set(http::field::sec_websocket_protocol, subprotocol);
            r.set(http::field::user_agent, "voxforkd/" VOXFORK_VERSION);
            for (const auto& [name, value] : headers) r.set(name, value);
        }));
}

// The Host of the upgrade request and its target.
inline std::string upgrade_host(const ConnectionKey& key) {
    return authority(key.host, key.port);
}
inline std::string upgrade_target(const ConnectionKey& key) {
    return key.path.empty() ? "/" : key.path;
}

}  // namespace voxfork::ws::detail
