// The answer to the upgrade as the connection pipeline reads it
// (upgrade.hpp, WriteBatcher's check while the upgrade is read).
#include <gtest/gtest.h>

#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket.hpp>

#include "upgrade.hpp"
#include "write_batcher.hpp"

using voxfork::ws::detail::UpgradeAnswerCheck;
namespace beast = boost::beast;

namespace {

const std::string switching =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

// The error the handshake ends with when the server answers `answer`.
boost::system::error_code handshake_with(const std::string& answer) {
    boost::asio::io_context io;
    beast::test::stream client(io), server(io);
    client.connect(server);
    client.append(answer);
    client.close_remote();
    beast::websocket::stream<voxfork::ws::detail::WriteBatcher<beast::test::stream>> ws(std::move(client));
    voxfork::ws::ConnectionKey key;
    key.host = "speech.example";
    key.port = 9000;
    voxfork::ws::detail::prepare_upgrade(ws, key);
    beast::websocket::response_type response;
    boost::system::error_code result = boost::asio::error::would_block;
    ws.async_handshake(response, "speech.example:9000", "/", [&](boost::system::error_code ec) { result = ec; });
    io.run();
    return result;
}

}  // namespace

TEST(UpgradeAnswerCheck, TakesAnAnswerInPieces) {
    UpgradeAnswerCheck check;
    EXPECT_TRUE(check.take(switching.substr(0, 20)));
    EXPECT_TRUE(check.take(switching.substr(20)));
    EXPECT_TRUE(check.take(std::string(1000, 'x')));  // frames after the header
}

TEST(UpgradeAnswerCheck, RefusesAContentLengthOverTheLimit) {
    UpgradeAnswerCheck ok, big, huge, junk;
    EXPECT_TRUE(ok.take("HTTP/1.1 401 Unauthorized\r\nContent-Length: 65536\r\n\r\n"));
    EXPECT_FALSE(big.take("HTTP/1.1 401 Unauthorized\r\ncontent-length:  65537\r\n\r\n"));
    EXPECT_FALSE(huge.take("HTTP/1.1 200 OK\r\nContent-Length: 462630066519969375\r\n\r\n"));
    EXPECT_FALSE(junk.take("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n"));
}

TEST(UpgradeAnswerCheck, RefusesAnAnswerLongerThanTheLimit) {
    UpgradeAnswerCheck header, body;
    EXPECT_FALSE(header.take("HTTP/1.1 101 OK\r\nX: " + std::string(UpgradeAnswerCheck::max_bytes, 'x')));
    EXPECT_TRUE(body.take("HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"));
    EXPECT_FALSE(body.take(std::string(UpgradeAnswerCheck::max_bytes, 'x')));
}

// Found by tests/fuzz/ws_upgrade_fuzz.cpp: with this answer Beast reserved
// 462 PB for the body, and bad_alloc left the io thread (the daemon ended).
TEST(UpgradeAnswer, AHugeContentLengthFailsTheHandshakeQuietly) {
    const auto ec = handshake_with("HTTP/1.1 200 OK\r\nContent-Length: 462630066519969375\r\n\r\nbody");
    EXPECT_EQ(ec, beast::http::error::body_limit);
}

TEST(UpgradeAnswer, AnErrorPageIsReadAsBefore) {
    const auto ec = handshake_with("HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nUnauthorized");
    EXPECT_EQ(ec, beast::websocket::error::upgrade_declined);
}
