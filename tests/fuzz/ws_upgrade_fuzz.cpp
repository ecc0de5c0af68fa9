// The HTTP answers a speech server's side sends before the WebSocket runs
// (ws/upgrade.hpp): with two messages in the input, the first is a proxy's
// reply to CONNECT and the second the answer to the upgrade; with one, the
// answer to the upgrade. Read over an in-memory stream exactly as link.cpp
// reads them over TCP (through the same WriteBatcher layer).
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket.hpp>

#include "check.hpp"
#include "upgrade.hpp"
#include "write_batcher.hpp"

using namespace voxfork;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::messages(fuzz::as_text(data, size));
    boost::asio::io_context io;
    beast::test::stream client(io), server(io);
    client.connect(server);
    const ws::ConnectionKey key{"speech.example", 9000, false, "/stream", 0, "voxfork.v1",
                                {{"Authorization", "Bearer abc"}}, "abc", "voxfork-v1"};
    // Whatever was appended is read, then the end of the stream.
    client.close_remote();
    if (parts.size() >= 2) {
        client.append(parts[0]);
        std::optional<ws::detail::ProxyReplyParser> parser;
        beast::flat_buffer buffer;
        boost::system::error_code ec;
        beast::http::read(client, buffer, ws::detail::prepare_proxy_reply(parser), ec);
        if (ec) return 0;
        (void)parser->get().result_int();
        // link.cpp refuses a proxy that sent more than its reply.
        if (buffer.size() != 0) return 0;
    }
    client.append(parts.back());
    // The layer link.cpp puts under Beast's stream, which checks the answer.
    websocket::stream<ws::detail::WriteBatcher<beast::test::stream>> ws(std::move(client));
    ws::detail::prepare_upgrade(ws, key);
    websocket::response_type response;
    bool done = false;
    ws.async_handshake(response, ws::detail::upgrade_host(key), ws::detail::upgrade_target(key),
                       [&](boost::system::error_code ec) {
                           done = true;
                           if (ec) (void)response.result_int();
                       });
    io.run();
    VOXFORK_FUZZ_CHECK(done);
    return 0;
}
