// Sends to many sockets in one submission give what one send(2) per socket
// gives: every byte in order where the socket takes it, what a full socket
// took (or EAGAIN), and the error of a socket that cannot send, each without
// touching the others. Both ways are run; the batched one is checked to batch
// wherever the host lets a process set up io_uring.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include <liburing.h>

#include "batched_sends.hpp"

namespace voxfork::ws::detail {
namespace {

// A connected stream pair: sends go on `ours`, the test reads `theirs`.
struct Pair {
    Pair() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) ADD_FAILURE() << "socketpair: " << errno;
        ours = fds[0];
        theirs = fds[1];
    }
    ~Pair() {
        if (ours >= 0) ::close(ours);
        if (theirs >= 0) ::close(theirs);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;

    std::vector<std::uint8_t> read_available() const {
        std::vector<std::uint8_t> got(1 << 20);
        const ssize_t n = ::recv(theirs, got.data(), got.size(), MSG_DONTWAIT);
        got.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return got;
    }
    // Sends until the socket takes no more; returns the bytes it took.
    std::size_t fill() const {
        const std::vector<std::uint8_t> chunk(4096, 0xee);
        std::size_t taken = 0;
        for (ssize_t n; (n = ::send(ours, chunk.data(), chunk.size(), MSG_DONTWAIT)) > 0;)
            taken += static_cast<std::size_t>(n);
        return taken;
    }

    int ours = -1, theirs = -1;
};

// Checked here without BatchedSends: a ring with a send operation.
bool host_allows_io_uring() {
    io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) < 0) return false;
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    const bool sends = probe && io_uring_opcode_supported(probe, IORING_OP_SEND);
    if (probe) io_uring_free_probe(probe);
    io_uring_queue_exit(&ring);
    return sends;
}

class BatchedSendsTest : public ::testing::TestWithParam<bool> {
protected:
    BatchedSends sends{GetParam()};
};

TEST_P(BatchedSendsTest, EverySocketGetsItsBytesInOrderOverSeveralSubmissions) {
    // More sockets than one submission holds, three rounds each.
    constexpr std::size_t sockets = 300;
    std::vector<Pair> pairs(sockets);
    std::vector<std::vector<std::uint8_t>> sent(sockets);
    for (int round = 0; round < 3; ++round) {
        std::vector<std::vector<std::uint8_t>> payloads(sockets);
        std::vector<BatchedSends::Send> batch;
        for (std::size_t i = 0; i < sockets; ++i) {
            payloads[i].assign(100 + i, static_cast<std::uint8_t>(i * 7 + round));
            batch.push_back({pairs[i].ours, payloads[i].data(), payloads[i].size()});
            sent[i].insert(sent[i].end(), payloads[i].begin(), payloads[i].end());
        }
        sends.send_all(batch);
        for (std::size_t i = 0; i < sockets; ++i)
            ASSERT_EQ(batch[i].result, static_cast<ssize_t>(payloads[i].size())) << "socket " << i;
    }
    for (std::size_t i = 0; i < sockets; ++i) ASSERT_EQ(pairs[i].read_available(), sent[i]) << "socket " << i;
    if (!GetParam()) {
        EXPECT_FALSE(sends.batching());
    } else if (host_allows_io_uring()) {
        EXPECT_TRUE(sends.batching());
        EXPECT_EQ(sends.batched(), 3 * sockets);
    } else {
        // Reported as skipped, not passed: the batching itself went unchecked.
        GTEST_SKIP() << "io_uring is not available here: only the plain sends were checked";
    }
}

TEST_P(BatchedSendsTest, EachSocketAnswersForItselfInABatch) {
    Pair open_before, full, partly_full, peer_gone, open_after;
    full.fill();
    // Room for part of the send: read some of what filled it.
    partly_full.fill();
    const std::size_t room = partly_full.read_available().size();
    ASSERT_GT(room, 0u);
    ::close(std::exchange(peer_gone.theirs, -1));
    const std::vector<std::uint8_t> small(500, 0x11), large(room + (1 << 20), 0x22);
    std::vector<BatchedSends::Send> batch{{open_before.ours, small.data(), small.size()},
                                          {full.ours, small.data(), small.size()},
                                          {partly_full.ours, large.data(), large.size()},
                                          {peer_gone.ours, small.data(), small.size()},
                                          {-1, small.data(), small.size()},
                                          {open_after.ours, small.data(), small.size()}};
    sends.send_all(batch);
    EXPECT_EQ(batch[0].result, 500);
    EXPECT_EQ(batch[1].result, -EAGAIN);
    EXPECT_GT(batch[2].result, 0);  // what fitted, no more
    EXPECT_LT(batch[2].result, static_cast<ssize_t>(large.size()));
    EXPECT_EQ(batch[3].result, -EPIPE);  // and no SIGPIPE: the test is still here
    EXPECT_EQ(batch[4].result, -EBADF);
    EXPECT_EQ(batch[5].result, 500);
    EXPECT_EQ(open_before.read_available(), small);
    EXPECT_EQ(open_after.read_available(), small);
}

INSTANTIATE_TEST_SUITE_P(BothWays, BatchedSendsTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Batched" : "OneByOne"; });

}  // namespace
}  // namespace voxfork::ws::detail
