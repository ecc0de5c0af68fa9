// The relay's packet thread: edge-triggered epoll over every session socket, recvmmsg
// batches, forwarding to the far leg with sendmmsg, taps after forwarding.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "session_slot.hpp"

namespace voxfork::media {

class PacketLoop {
public:
    // `strict_source_port`: a packet must come from the leg's signalled
    // address *and* port (else the address alone is checked).
    // `realtime_priority` > 0: the thread asks for SCHED_FIFO at that priority.
    // `latch_move_packets`: packets in a row from a new source that move a latch.
    PacketLoop(std::span<SessionSlot> slots, RelayCounters& counters, bool strict_source_port, int realtime_priority,
               unsigned latch_move_packets);
    ~PacketLoop();
    PacketLoop(const PacketLoop&) = delete;
    PacketLoop& operator=(const PacketLoop&) = delete;

    void start();  // returns once the thread has its scheduling settled
    void stop();   // joins the thread
    int realtime_priority() const noexcept { return realtime_granted_.load(); }

    // Thread-safe (epoll_ctl). After unwatch, events already fetched may still
    // be handled until the next quiesce() returns.
    bool watch(SocketTag tag) noexcept;
    void unwatch(int fd) noexcept;

    // Returns once every pass of the loop that was under way at the call has
    // ended, so nothing it read before the call (a tap, a socket) is used any
    // more. Immediate when the thread isn't running or when called from it.
    void quiesce() noexcept;

private:
    static constexpr unsigned kBatch = 32;             // datagrams per recvmmsg
    static constexpr unsigned kEvents = 256;           // sockets per epoll_wait
    static constexpr unsigned kBatchesPerPass = 4;     // per socket, before the others' turn
    static constexpr std::size_t kMaxDatagram = 2048;  // longer ones are dropped as malformed

    void run() noexcept;
    void wake() noexcept;
    void drain(SocketTag tag) noexcept;
    unsigned on_readable(SocketTag tag) noexcept;  // datagrams received
    bool source_accepted(const Peer& accept, const Peer& from) const noexcept;
    // Latching::learn: whether the packet's source is taken, latching or moving on the way.
    bool source_latched(Latch& latch, const Peer& from, bool malformed, bool own_kind,
                        DirectionCounters& counters) noexcept;

    std::span<SessionSlot> slots_;
    RelayCounters& counters_;
    const bool strict_source_port_;
    const int realtime_priority_;
    const unsigned latch_move_packets_;
    int epoll_fd_ = -1;
    int wake_fd_ = -1;

    std::thread thread_;
    std::atomic<bool> running_{false};
    std::atomic<bool> alive_{false};  // the thread is (about to be) in its loop
    std::atomic<std::thread::id> thread_id_{};
    std::atomic<std::uint64_t> passes_{0};  // loop passes completed; see quiesce()
    std::atomic<int> realtime_granted_{-1};  // the priority the thread got; -1 until it knows

    // Batch buffers, allocated once; used by the packet thread only.
    std::vector<epoll_event> events_;
    std::vector<std::uint8_t> buffers_;
    std::vector<mmsghdr> in_;
    std::vector<iovec> in_iov_;
    std::vector<sockaddr_in6> from_;  // an IPv4 leg's sources are sockaddr_in in the same room
    unsigned in_filled_ = kBatch;  // messages of in_ the last recvmmsg may have changed
    std::vector<mmsghdr> out_;
    std::vector<iovec> out_iov_;
    std::vector<std::uint16_t> out_index_;  // which received datagram each outgoing one is
    sockaddr_in6 destination_{};  // or a sockaddr_in, for an IPv4 far leg
};

}  // namespace voxfork::media
