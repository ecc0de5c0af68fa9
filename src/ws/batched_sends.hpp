// Non-blocking sends to many sockets in one system call. Used by the write
// batchers' flush queue (write_batcher.hpp); knows nothing of WebSockets.
//
// Why: a drain round of the io thread makes one send per due connection (40
// at a time at 400 raw calls in the separate layout, 13,000 a second), and
// on a host whose kernel isolates its page tables a system call's entry and
// exit alone cost about a microsecond. io_uring takes the round's sends in
// one submission; each still runs in the kernel as a send flagged
// MSG_DONTWAIT would, inline and in order, so a socket that cannot take
// everything answers at once with what it took (or EAGAIN) and never parks
// the request. Where io_uring is not available (an older kernel, a seccomp
// profile that refuses it, kernel.io_uring_disabled) every send is a plain
// send(2), with the same results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <sys/types.h>

namespace voxfork::ws::detail {

class BatchedSends {
public:
    struct Send {
        int fd = -1;
        const void* data = nullptr;
        std::size_t size = 0;
        ssize_t result = 0;  // set by send_all: bytes the socket took, or -errno
    };

    // A batch smaller than this goes out as plain sends: the submission
    // costs more than it saves for one or two.
    static constexpr std::size_t min_batch = 3;

    // The ring is set up at the first batch large enough to use it (a flush
    // queue of TLS streams never needs one). `use_ring` false: plain sends
    // only (tests compare the two ways).
    explicit BatchedSends(bool use_ring = true);
    ~BatchedSends();
    BatchedSends(const BatchedSends&) = delete;
    BatchedSends& operator=(const BatchedSends&) = delete;

    // Sends each buffer on its socket without waiting (MSG_DONTWAIT |
    // MSG_NOSIGNAL) and sets its result; sends to one socket keep their order.
    void send_all(std::span<Send> sends);

    // One send, as send_all makes it without a ring.
    static void send_one(Send& send);

    // True while sends are batched: the ring was set up and has not failed.
    bool batching() const { return ring_ != nullptr; }
    // Sends that went to the kernel in a submission, since construction.
    std::uint64_t batched() const { return submitted_; }

private:
    struct Ring;
    enum class State { untried, ring, plain };
    bool set_up_ring();
    void submit(std::span<Send> sends);
    void give_up_ring();
    State state_;
    std::unique_ptr<Ring> ring_;
    std::uint64_t submitted_ = 0;
};

}  // namespace voxfork::ws::detail
