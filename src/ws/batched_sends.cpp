#include "batched_sends.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <liburing.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace voxfork::ws::detail {
namespace {

constexpr int send_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
// Sends per submission; a larger round is submitted in several.
constexpr unsigned ring_entries = 256;

// How long a submission's completions may take to come: they are there when
// the submission returns (see submit()), so this only bounds a kernel that
// behaved otherwise.
constexpr __kernel_timespec completion_wait{0, 100'000'000};

// io_uring came before its send (Linux 5.1 and 5.6): a ring without it
// would fail every send.
bool sends_supported(io_uring& ring) {
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    const bool supported = probe && io_uring_opcode_supported(probe, IORING_OP_SEND);
    if (probe) io_uring_free_probe(probe);
    return supported;
}

}  // namespace

void BatchedSends::send_one(Send& s) {
    const ssize_t n = ::send(s.fd, s.data, s.size, send_flags);
    s.result = n >= 0 ? n : -errno;
}

struct BatchedSends::Ring {
    io_uring ring{};
    std::array<io_uring_cqe*, ring_entries> completions{};
};

BatchedSends::BatchedSends(bool use_ring) : state_(use_ring ? State::untried : State::plain) {}

bool BatchedSends::set_up_ring() {
    if (state_ == State::untried) {
        state_ = State::plain;
        auto ring = std::make_unique<Ring>();
        if (const int rc = io_uring_queue_init(ring_entries, &ring->ring, 0); rc < 0) {
            spdlog::info("ws: sends are not batched (io_uring: {}); each is a system call of its own",
                         std::strerror(-rc));
        } else if (!sends_supported(ring->ring)) {
            io_uring_queue_exit(&ring->ring);
            spdlog::info("ws: sends are not batched (this kernel's io_uring has no send); each is a system call "
                         "of its own");
        } else {
            ring_ = std::move(ring);
            state_ = State::ring;
        }
    }
    return ring_ != nullptr;
}

BatchedSends::~BatchedSends() { give_up_ring(); }

void BatchedSends::give_up_ring() {
    if (ring_) io_uring_queue_exit(&ring_->ring);  // drops whatever was not submitted
    ring_.reset();
    state_ = State::plain;
}

void BatchedSends::send_all(std::span<Send> sends) {
    while (sends.size() >= min_batch && set_up_ring()) {
        const auto chunk = sends.first(std::min<std::size_t>(sends.size(), ring_entries));
        submit(chunk);
        sends = sends.subspan(chunk.size());
    }
    for (Send& s : sends) send_one(s);
}

// The sends run while the kernel takes the submission (MSG_DONTWAIT: none is
// parked), so their completions are there when it returns; the wait below
// is only in case a kernel queued one.
void BatchedSends::submit(std::span<Send> sends) {
    io_uring& ring = ring_->ring;
    for (std::size_t i = 0; i < sends.size(); ++i) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);  // never null: the queue is empty and large enough
        io_uring_prep_send(sqe, sends[i].fd, sends[i].data, sends[i].size, send_flags);
        sqe->user_data = i;
        sends[i].result = -EIO;  // until its completion says otherwise
    }
    int submitted = io_uring_submit(&ring);
    while (submitted == -EINTR) submitted = io_uring_submit(&ring);
    const std::size_t taken = submitted > 0 ? static_cast<std::size_t>(submitted) : 0;
    submitted_ += taken;

    std::size_t reaped = 0;
    while (reaped < taken) {
        const unsigned ready = io_uring_peek_batch_cqe(&ring, ring_->completions.data(), ring_entries);
        for (unsigned k = 0; k < ready; ++k) {
            // Only the sends' own: a kernel without timed waits adds one of
            // liburing's for the wait below.
            const io_uring_cqe& done = *ring_->completions[k];
            if (done.user_data >= sends.size()) continue;
            sends[done.user_data].result = done.res;
            ++reaped;
        }
        io_uring_cq_advance(&ring, ready);
        if (reaped >= taken) break;
        io_uring_cqe* next = nullptr;
        __kernel_timespec wait = completion_wait;
        int rc = io_uring_wait_cqe_timeout(&ring, &next, &wait);
        while (rc == -EINTR) rc = io_uring_wait_cqe_timeout(&ring, &next, &wait);
        if (rc < 0) {
            // The sends without a completion may or may not have gone:
            // they keep -EIO, and their connections (a stream that may have
            // a hole) fail.
            spdlog::error("ws: batched sends failed ({}); sending one by one from now on", std::strerror(-rc));
            give_up_ring();
            break;
        }
    }
    if (taken < sends.size()) {
        // The kernel refused the rest of the submission: they never ran.
        if (ring_) {
            spdlog::error("ws: io_uring took {} of {} sends ({}); sending one by one from now on", taken,
                          sends.size(), submitted < 0 ? std::strerror(-submitted) : "short submission");
            give_up_ring();
        }
        for (Send& s : sends.subspan(taken)) send_one(s);
    }
}

}  // namespace voxfork::ws::detail
