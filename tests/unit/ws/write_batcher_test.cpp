// The write batcher over a real loopback TCP connection: what one turn of the
// io thread appends leaves in one write, in order; the high-water mark holds
// audio back until the peer reads; a batcher destroyed mid-write is safe.
// Over Beast's tcp_stream (what voxfork uses for ws://) a batch the socket
// takes at once is sent without an asynchronous write, and one it takes only
// in part finishes asynchronously, in order.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "framing.hpp"
#include "write_batcher.hpp"

namespace voxfork::ws::detail {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A socket that counts the writes it is asked for.
struct CountingSocket {
    using executor_type = tcp::socket::executor_type;
    explicit CountingSocket(tcp::socket s, int& writes) : socket(std::move(s)), writes(writes) {}
    executor_type get_executor() { return socket.get_executor(); }
    template <class B, class H>
    auto async_write_some(const B& b, H&& h) {
        ++writes;
        return socket.async_write_some(b, std::forward<H>(h));
    }
    template <class B, class H>
    auto async_read_some(const B& b, H&& h) {
        return socket.async_read_some(b, std::forward<H>(h));
    }
    tcp::socket socket;
    int& writes;
};

// A connected loopback pair: the batcher writes on the client side, the
// test reads what arrived on `peer`.
class LoopbackTest : public ::testing::Test {
protected:
    tcp::socket connect_client() {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::socket client(io);
        client.connect(acceptor.local_endpoint());
        peer = std::make_unique<tcp::socket>(acceptor.accept());
        return client;
    }

    std::vector<std::uint8_t> read_exactly(std::size_t n) {
        std::vector<std::uint8_t> got(n);
        asio::read(*peer, asio::buffer(got));
        return got;
    }

    // Appends `chunk` bytes per turn of the io thread (the peer not reading)
    // until the batcher holds audio back; returns how many turns that took.
    template <class Batcher, class Fill>
    std::size_t fill_until_backlogged(Batcher& batcher, Fill&& fill_turn) {
        std::size_t turns = 0;
        for (; turns < 2000 && !batcher.backlogged(); ++turns) {
            batcher.append([&](std::vector<std::uint8_t>& out) { fill_turn(out, turns); });
            io.restart();  // poll() stops the context whenever it runs out of work
            io.poll();
        }
        return turns;
    }

    // The peer reads `n` bytes on its own thread while the io thread writes.
    std::vector<std::uint8_t> read_while_running(std::size_t n) {
        std::atomic<bool> drained{false};
        std::vector<std::uint8_t> got(n);
        std::thread reader([&] {
            error_code ec;
            asio::read(*peer, asio::buffer(got), ec);
            drained = true;
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!drained && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
        }
        if (!drained) {
            ADD_FAILURE() << "the peer never got its " << n << " bytes";
            error_code ignored;
            peer->shutdown(tcp::socket::shutdown_receive, ignored);  // wakes the reader
        }
        reader.join();
        io.restart();
        io.poll();
        return got;
    }

    asio::io_context io;
    std::unique_ptr<tcp::socket> peer;
};

class WriteBatcherTest : public LoopbackTest {
protected:
    void SetUp() override { batcher = std::make_unique<WriteBatcher<CountingSocket>>(connect_client(), writes); }

    int writes = 0;
    std::unique_ptr<WriteBatcher<CountingSocket>> batcher;
};

// Appends 100 frames of 172 bytes, each filled with its number, in one turn;
// returns the bytes the peer should read.
template <class Batcher>
std::vector<std::uint8_t> append_hundred_frames(Batcher& batcher) {
    std::vector<std::uint8_t> want;
    for (int i = 0; i < 100; ++i) {
        const std::vector<std::uint8_t> frame(172, static_cast<std::uint8_t>(i));
        batcher.append([&](std::vector<std::uint8_t>& out) { out.insert(out.end(), frame.begin(), frame.end()); });
        want.insert(want.end(), frame.begin(), frame.end());
    }
    return want;
}

TEST_F(WriteBatcherTest, OneTurnOfAppendsIsOneWriteInOrder) {
    const auto want = append_hundred_frames(*batcher);
    io.run();
    EXPECT_EQ(writes, 1);
    EXPECT_EQ(read_exactly(want.size()), want);
}

TEST_F(WriteBatcherTest, StreamWritesAndAppendsKeepTheirOrder) {
    const std::string text = "control";
    bool completed = false;
    batcher->append([](std::vector<std::uint8_t>& out) { out.push_back('A'); });
    batcher->async_write_some(asio::buffer(text), [&](error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        EXPECT_EQ(n, text.size());
        completed = true;
    });
    batcher->append([](std::vector<std::uint8_t>& out) { out.push_back('B'); });
    io.run();
    EXPECT_TRUE(completed);
    const auto got = read_exactly(text.size() + 2);
    EXPECT_EQ(std::string(got.begin(), got.end()),
              "Acontrol"
              "B");
}

TEST_F(WriteBatcherTest, BackloggedUntilThePeerReadsThenWritableOnce) {
    // Nobody reads: fill the kernel's buffers and then the batcher's.
    int writable = 0;
    batcher->on_writable([&] { ++writable; });
    const std::size_t turns = fill_until_backlogged(
        *batcher, [](std::vector<std::uint8_t>& out, std::size_t) { out.resize(out.size() + 16384); });
    ASSERT_TRUE(batcher->backlogged()) << "the high-water mark was never reached";
    EXPECT_EQ(writable, 0);
    // The peer drains everything; the batcher says once that audio may go on.
    read_while_running(turns * 16384);
    EXPECT_FALSE(batcher->backlogged());
    EXPECT_EQ(writable, 1);
}

TEST_F(WriteBatcherTest, DestroyedWithAWritePendingIsSafe) {
    for (int i = 0; i < 64; ++i) {
        batcher->append([](std::vector<std::uint8_t>& out) { out.resize(out.size() + 65536); });
        io.restart();
        io.poll();
    }
    batcher.reset();  // its write handler still runs, later
    io.run();
    SUCCEED();
}

TEST_F(WriteBatcherTest, AfterATransportFailureAppendsAreDroppedAndWritesFail) {
    peer.reset();  // the peer is gone: writes fail with a reset or broken pipe
    error_code last;
    for (int i = 0; i < 200 && !last; ++i) {
        batcher->append([](std::vector<std::uint8_t>& out) { out.resize(out.size() + 65536); });
        batcher->async_write_some(asio::buffer("x", 1), [&](error_code ec, std::size_t) { last = ec; });
        io.run();
        io.restart();
    }
    EXPECT_TRUE(last) << "the failure never reached a stream write";
    EXPECT_FALSE(batcher->backlogged());
}

// The plain-TCP transport voxfork uses: a non-blocking send first.
class TcpStreamBatcherTest : public LoopbackTest {
protected:
    void SetUp() override { batcher = std::make_unique<WriteBatcher<boost::beast::tcp_stream>>(connect_client()); }

    std::unique_ptr<WriteBatcher<boost::beast::tcp_stream>> batcher;
};

TEST_F(TcpStreamBatcherTest, ABatchTheSocketTakesLeavesNoWriteInFlight) {
    const auto want = append_hundred_frames(*batcher);
    // Only the posted flush runs: an asynchronous write would add its
    // completion handler to this poll.
    EXPECT_EQ(io.poll(), 1u);
    EXPECT_EQ(read_exactly(want.size()), want);
}

// Byte `i` of a stream of consecutive little-endian 32-bit counters.
std::uint8_t counter_byte(std::size_t i) {
    return static_cast<std::uint8_t>((i / 4) >> (8 * (i % 4)));
}

TEST_F(TcpStreamBatcherTest, WhatTheSocketDoesNotTakeFollowsInOrder) {
    // Small socket buffers and a peer that doesn't read: sends come back
    // short (part taken) or refused, and the rest goes asynchronously. Odd
    // chunks of one counter stream show any byte lost, doubled or misplaced.
    batcher->next_layer().socket().set_option(asio::socket_base::send_buffer_size(4096));
    peer->set_option(asio::socket_base::receive_buffer_size(4096));
    int writable = 0;
    batcher->on_writable([&] { ++writable; });
    constexpr std::size_t chunk = 10007;
    std::size_t written = 0;
    const std::size_t chunks = fill_until_backlogged(*batcher, [&](std::vector<std::uint8_t>& out, std::size_t) {
        for (std::size_t k = 0; k < chunk; ++k) out.push_back(counter_byte(written++));
    });
    ASSERT_TRUE(batcher->backlogged()) << "the high-water mark was never reached";
    const auto got = read_while_running(chunks * chunk);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], counter_byte(i)) << "byte " << i;
    EXPECT_FALSE(batcher->backlogged());
    EXPECT_EQ(writable, 1);
}

}  // namespace
}  // namespace voxfork::ws::detail
