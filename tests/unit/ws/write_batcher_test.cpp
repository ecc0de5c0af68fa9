// The write batcher over a real loopback TCP connection: what one turn of the
// io thread appends leaves in one write, in order; the high-water mark holds
// audio back until the peer reads; a batcher destroyed mid-write is safe.
// Over Beast's tcp_stream (what voxfork uses for ws://) a batch the socket
// takes at once is sent without an asynchronous write, and one it takes only
// in part finishes asynchronously, in order; the batches of several
// connections in one turn go out together, each on its own socket.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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
    // A client socket whose peer is `peer` (or `*into`).
    tcp::socket connect_client(std::unique_ptr<tcp::socket>* into = nullptr) {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::socket client(io);
        client.connect(acceptor.local_endpoint());
        (into ? *into : peer) = std::make_unique<tcp::socket>(acceptor.accept());
        return client;
    }

    static std::vector<std::uint8_t> read_exactly(tcp::socket& from, std::size_t n) {
        std::vector<std::uint8_t> got(n);
        asio::read(from, asio::buffer(got));
        return got;
    }
    std::vector<std::uint8_t> read_exactly(std::size_t n) { return read_exactly(*peer, n); }

    // Appends to each batcher once per turn of the io thread (the peers not
    // reading) until every one holds audio back; returns how many turns
    // that took.
    template <class Batcher, class Fill>
    std::size_t fill_all_until_backlogged(const std::vector<Batcher*>& batchers, Fill&& fill_turn) {
        const auto all_backlogged = [&] {
            return std::all_of(batchers.begin(), batchers.end(), [](Batcher* b) { return b->backlogged(); });
        };
        std::size_t turns = 0;
        for (; turns < 2000 && !all_backlogged(); ++turns) {
            for (std::size_t i = 0; i < batchers.size(); ++i)
                batchers[i]->append([&](std::vector<std::uint8_t>& out) { fill_turn(out, i, turns); });
            io.restart();  // poll() stops the context whenever it runs out of work
            io.poll();
        }
        return turns;
    }
    template <class Batcher, class Fill>
    std::size_t fill_until_backlogged(Batcher& batcher, Fill&& fill_turn) {
        return fill_all_until_backlogged(std::vector<Batcher*>{&batcher},
                                     [&](std::vector<std::uint8_t>& out, std::size_t, std::size_t turn) {
                                         fill_turn(out, turn);
                                     });
    }

    // Each peer reads its `n` bytes on a thread of its own while the io
    // thread writes.
    std::vector<std::vector<std::uint8_t>> read_while_running(
        const std::vector<std::pair<tcp::socket*, std::size_t>>& reads) {
        std::atomic<std::size_t> drained{0};
        std::vector<std::vector<std::uint8_t>> got;
        for (const auto& [from, n] : reads) got.emplace_back(n);
        std::vector<std::thread> readers;
        for (std::size_t i = 0; i < reads.size(); ++i)
            readers.emplace_back([&, i] {
                error_code ec;
                asio::read(*reads[i].first, asio::buffer(got[i]), ec);
                ++drained;
            });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (drained < reads.size() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(std::chrono::milliseconds(10));
        }
        if (drained < reads.size()) {
            ADD_FAILURE() << "only " << drained << " of " << reads.size() << " peers got their bytes";
            error_code ignored;
            for (const auto& [from, n] : reads) from->shutdown(tcp::socket::shutdown_receive, ignored);  // wakes them
        }
        for (std::thread& reader : readers) reader.join();
        io.restart();
        io.poll();
        return got;
    }
    std::vector<std::uint8_t> read_while_running(std::size_t n) { return read_while_running({{peer.get(), n}})[0]; }

    asio::io_context io;
    std::unique_ptr<tcp::socket> peer;
};

class WriteBatcherTest : public LoopbackTest {
protected:
    void SetUp() override { batcher = std::make_unique<WriteBatcher<CountingSocket>>(connect_client(), writes); }

    int writes = 0;
    std::unique_ptr<WriteBatcher<CountingSocket>> batcher;
};

// Appends 100 frames of 172 bytes, each filled with its number (plus
// `offset`), in one turn; returns the bytes the peer should read.
template <class Batcher>
std::vector<std::uint8_t> append_hundred_frames(Batcher& batcher, int offset = 0) {
    std::vector<std::uint8_t> want;
    for (int i = 0; i < 100; ++i) {
        const std::vector<std::uint8_t> frame(172, static_cast<std::uint8_t>(i + offset));
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

    void check_partial_sends_keep_order(std::size_t connections);

    std::unique_ptr<WriteBatcher<boost::beast::tcp_stream>> batcher;
};

TEST_F(TcpStreamBatcherTest, ABatchTheSocketTakesLeavesNoWriteInFlight) {
    const auto want = append_hundred_frames(*batcher);
    // Only the posted flush runs: an asynchronous write would add its
    // completion handler to this poll.
    EXPECT_EQ(io.poll(), 1u);
    EXPECT_EQ(read_exactly(want.size()), want);
}

// Whether this host lets a process use io_uring's send (a container's
// seccomp profile may not): where it does not, the batched path cannot run;
// the tests below check the plain sends that replace it and then report
// themselves skipped, so a run without batching never reads as its proof.
constexpr const char* unbatched_host = "io_uring is not available here: the sends went one by one";
bool host_batches_sends() {
    BatchedSends probe;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return false;
    const std::uint8_t byte = 0;
    std::vector<BatchedSends::Send> sends(BatchedSends::min_batch, {fds[0], &byte, 1});
    probe.send_all(sends);
    ::close(fds[0]);
    ::close(fds[1]);
    return probe.batched() > 0;
}

TEST_F(TcpStreamBatcherTest, TheConnectionsOfOneTurnGoOutTogetherEachOnItsSocket) {
    // Five connections with frames in the same turn (a drain round's due
    // connections), each a different length: one flush handler, no
    // asynchronous write, one submission for the five, every peer gets its
    // own bytes and each batcher counts its own.
    std::vector<std::unique_ptr<tcp::socket>> peers(5);
    std::vector<std::unique_ptr<WriteBatcher<boost::beast::tcp_stream>>> batchers;
    std::vector<std::vector<std::uint8_t>> want;
    for (std::size_t i = 0; i < peers.size(); ++i) {
        batchers.push_back(std::make_unique<WriteBatcher<boost::beast::tcp_stream>>(connect_client(&peers[i])));
        want.push_back(append_hundred_frames(*batchers.back(), static_cast<int>(i) * 100));
        batchers.back()->append([&](std::vector<std::uint8_t>& out) { out.insert(out.end(), i * 37 + 1, 0xa5); });
        want.back().insert(want.back().end(), i * 37 + 1, 0xa5);
    }
    const std::uint64_t batched_before = batcher->sends_batched();
    EXPECT_EQ(io.poll(), 1u);
    for (std::size_t i = 0; i < peers.size(); ++i) {
        EXPECT_EQ(read_exactly(*peers[i], want[i].size()), want[i]) << "connection " << i;
        EXPECT_EQ(batchers[i]->bytes_taken(), want[i].size()) << "connection " << i;
    }
    if (!host_batches_sends()) GTEST_SKIP() << unbatched_host;
    EXPECT_EQ(batcher->sends_batched() - batched_before, peers.size());
}

// Byte `i` of a stream of consecutive little-endian 32-bit counters.
std::uint8_t counter_byte(std::size_t i) {
    return static_cast<std::uint8_t>((i / 4) >> (8 * (i % 4)));
}

// Small socket buffers and peers that don't read: sends come back short
// (part taken) or refused, and the rest goes asynchronously. Odd chunks of
// one counter stream per connection show any byte lost, doubled or
// misplaced. With several connections their sends of a turn go together.
void TcpStreamBatcherTest::check_partial_sends_keep_order(std::size_t connections) {
    std::vector<std::unique_ptr<tcp::socket>> peers(connections);
    peers[0] = std::move(peer);
    std::vector<WriteBatcher<boost::beast::tcp_stream>*> batchers{batcher.get()};
    std::vector<std::unique_ptr<WriteBatcher<boost::beast::tcp_stream>>> more;
    for (std::size_t i = 1; i < connections; ++i) {
        more.push_back(std::make_unique<WriteBatcher<boost::beast::tcp_stream>>(connect_client(&peers[i])));
        batchers.push_back(more.back().get());
    }
    int writable = 0;
    for (std::size_t i = 0; i < connections; ++i) {
        batchers[i]->next_layer().socket().set_option(asio::socket_base::send_buffer_size(4096));
        peers[i]->set_option(asio::socket_base::receive_buffer_size(4096));
        batchers[i]->on_writable([&] { ++writable; });
    }
    // The first turn's sends are larger than the sockets take, so with
    // several connections they come back short from one submission.
    constexpr std::size_t first_chunk = 40007, chunk = 10007;
    std::vector<std::size_t> written(connections, 0);
    const std::uint64_t batched_before = batcher->sends_batched();
    fill_all_until_backlogged(batchers, [&](std::vector<std::uint8_t>& out, std::size_t i, std::size_t turn) {
        const std::size_t n = turn == 0 ? first_chunk + 1000 * i : chunk;
        for (std::size_t k = 0; k < n; ++k) out.push_back(counter_byte(written[i]++));
    });
    for (std::size_t i = 0; i < connections; ++i)
        ASSERT_TRUE(batchers[i]->backlogged()) << "connection " << i << " never reached the high-water mark";
    const bool batching_checked = connections < BatchedSends::min_batch || host_batches_sends();
    if (connections >= BatchedSends::min_batch && batching_checked) {
        EXPECT_GE(batcher->sends_batched() - batched_before, connections);
    }
    std::vector<std::pair<tcp::socket*, std::size_t>> reads;
    for (std::size_t i = 0; i < connections; ++i) reads.emplace_back(peers[i].get(), written[i]);
    const auto got = read_while_running(reads);
    for (std::size_t c = 0; c < connections; ++c) {
        for (std::size_t i = 0; i < got[c].size(); ++i)
            ASSERT_EQ(got[c][i], counter_byte(i)) << "connection " << c << " byte " << i;
        EXPECT_FALSE(batchers[c]->backlogged());
    }
    EXPECT_EQ(writable, static_cast<int>(connections));
    if (!batching_checked) GTEST_SKIP() << unbatched_host;
}

TEST_F(TcpStreamBatcherTest, WhatTheSocketDoesNotTakeFollowsInOrder) { check_partial_sends_keep_order(1); }

TEST_F(TcpStreamBatcherTest, WhatTheSocketsDoNotTakeInABatchedTurnFollowsInOrder) {
    check_partial_sends_keep_order(4);
}

}  // namespace
}  // namespace voxfork::ws::detail
