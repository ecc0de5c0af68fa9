// One call's relay state, preallocated. The control plane writes it, the
// packet thread reads it: everything the packet thread reads is an atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>

#include "port_pool.hpp"
#include "voxfork/media.hpp"
#include "voxfork/net.hpp"

namespace voxfork::media {

enum Socket : std::uint8_t { rtp_socket = 0, rtcp_socket = 1 };

// An endpoint as the packet thread handles it: the 16 address bytes in two
// words (network order; IPv4 v4-mapped, as net::Address keeps it) and the
// port, family and flags in a third. Made from a received sockaddr without a
// call and compared in three word compares, for either family.
struct Peer {
    static constexpr std::uint64_t kPresent = std::uint64_t{1} << 16;    // else: none (hold, unknown)
    static constexpr std::uint64_t kIpv6 = std::uint64_t{1} << 17;
    // In a send_to: the leg's sending socket is connected to this endpoint,
    // so the packet thread sends without an address.
    static constexpr std::uint64_t kConnected = std::uint64_t{1} << 18;

    std::uint64_t high = 0;  // address bytes 0-7
    std::uint64_t low = 0;   // address bytes 8-15
    std::uint64_t meta = 0;  // port | kPresent | kIpv6 | kConnected

    bool present() const noexcept { return (meta & kPresent) != 0; }
    bool ipv6() const noexcept { return (meta & kIpv6) != 0; }
    bool connected() const noexcept { return (meta & kConnected) != 0; }
    std::uint16_t port() const noexcept { return static_cast<std::uint16_t>(meta); }
    bool same_address(const Peer& other) const noexcept { return high == other.high && low == other.low; }
    // Same address, port and family (the connected flag aside).
    bool same_endpoint(const Peer& other) const noexcept {
        return same_address(other) && ((meta ^ other.meta) & ~kConnected) == 0;
    }
    bool operator==(const Peer&) const = default;
};

// Control plane: an endpoint of either family; none for an unspecified
// address (hold).
inline Peer to_peer(const net::Endpoint& e) noexcept {
    Peer p;
    if (e.address.is_unspecified()) return p;
    std::memcpy(&p.high, e.address.bytes().data(), 8);
    std::memcpy(&p.low, e.address.bytes().data() + 8, 8);
    p.meta = Peer::kPresent | (e.address.is_v6() ? Peer::kIpv6 : 0) | e.port;
    return p;
}
inline net::Endpoint to_endpoint(const Peer& p) {
    if (!p.present()) return {};
    net::Address::Bytes bytes{};
    std::memcpy(bytes.data(), &p.high, 8);
    std::memcpy(bytes.data() + 8, &p.low, 8);
    if (p.ipv6()) return {net::Address::v6(bytes), p.port()};
    std::uint32_t v4 = 0;
    std::memcpy(&v4, bytes.data() + 12, 4);
    return {net::Address::v4(ntohl(v4)), p.port()};
}

// Packet thread: the source of a received datagram (a sockaddr_in or a
// sockaddr_in6, told apart by its family).
inline Peer peer_of(const sockaddr_in6& from) noexcept {
    Peer p;
    if (from.sin6_family == AF_INET6) {
        std::memcpy(&p.high, from.sin6_addr.s6_addr, 8);
        std::memcpy(&p.low, from.sin6_addr.s6_addr + 8, 8);
        p.meta = Peer::kPresent | Peer::kIpv6 | ntohs(from.sin6_port);
        return p;
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(from);
    std::uint8_t low[8] = {0, 0, 0xff, 0xff, 0, 0, 0, 0};
    std::memcpy(low + 4, &v4.sin_addr, 4);
    std::memcpy(&p.low, low, 8);
    p.meta = Peer::kPresent | ntohs(v4.sin_port);
    return p;
}

// Packet thread: `out` addressed to `p`; the length to pass with it.
inline socklen_t fill_sockaddr(const Peer& p, sockaddr_in6& out) noexcept {
    if (p.ipv6()) {
        out.sin6_family = AF_INET6;
        out.sin6_port = htons(p.port());
        std::memcpy(out.sin6_addr.s6_addr, &p.high, 8);
        std::memcpy(out.sin6_addr.s6_addr + 8, &p.low, 8);
        return sizeof(sockaddr_in6);
    }
    auto& v4 = reinterpret_cast<sockaddr_in&>(out);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(p.port());
    std::memcpy(&v4.sin_addr, reinterpret_cast<const std::uint8_t*>(&p.low) + 4, 4);
    return sizeof(sockaddr_in);
}

// A Peer one thread writes and another reads, without a lock: a sequence
// lock. A 16-byte address and its port no longer fit the one 64-bit atomic
// an IPv4 endpoint was packed into, and 128-bit atomics are not lock-free
// everywhere (libatomic may take a lock). The writer makes the sequence odd,
// writes the three words, makes it even again; a reader that sees the same
// even sequence before and after its reads has a whole Peer.
//
// Why not a table of immutable endpoints swapped by index: a table needs
// reclamation (when may an old entry be reused?), which is the quiesce
// handshake on every set_remote; the sequence lock needs nothing.
//
// The packet thread never waits on it: it keeps its own copy of what it
// last read (CachedPeer) with the sequence it was read at; in the common
// case (nothing changed) refresh() is one load and a compare, as the packed
// word was. While a store is under way it keeps the old copy for this batch
// and takes the new one on the next: spinning would be wrong, since the
// packet thread may run SCHED_FIFO on the very core whose control thread it
// preempted in the middle of a store.
struct CachedPeer {
    Peer value;
    std::uint32_t sequence = 0;
};

class SharedPeer {
public:
    // One writer at a time (the control plane under its mutex, or the packet thread alone).
    void store(const Peer& p) noexcept {
        const std::uint32_t s = sequence_.load(std::memory_order_relaxed);
        sequence_.store(s + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        words_[0].store(p.high, std::memory_order_relaxed);
        words_[1].store(p.low, std::memory_order_relaxed);
        words_[2].store(p.meta, std::memory_order_relaxed);
        sequence_.store(s + 2, std::memory_order_release);
    }

    // Wait-free: `cached` gets the current value unless a store is under way.
    void refresh(CachedPeer& cached) const noexcept {
        const std::uint32_t before = sequence_.load(std::memory_order_acquire);
        if (before == cached.sequence || (before & 1u) != 0) return;
        Peer p;
        if (read(before, p)) cached = CachedPeer{p, before};
    }

    // For the control plane: retries until it reads a whole value (a store is a few instructions long).
    Peer load() const noexcept {
        for (;;) {
            const std::uint32_t before = sequence_.load(std::memory_order_acquire);
            Peer p;
            if ((before & 1u) == 0 && read(before, p)) return p;
            ::sched_yield();
        }
    }

private:
    bool read(std::uint32_t before, Peer& p) const noexcept {
        p.high = words_[0].load(std::memory_order_relaxed);
        p.low = words_[1].load(std::memory_order_relaxed);
        p.meta = words_[2].load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        return sequence_.load(std::memory_order_relaxed) == before;
    }

    std::atomic<std::uint32_t> sequence_{0};
    std::atomic<std::uint64_t> words_[3] = {0, 0, 0};
};

// One socket's latch (docs/media.md, "Latching"): the source the leg's
// remote really sends from, learned by the packet thread.
struct Latch {
    // Control plane: bumped by each set_remote that names an address, which
    // opens the latch again; 0 = no remote signalled yet, nothing latches.
    std::atomic<std::uint32_t> epoch{0};
    // Packet thread writes, the control plane reads: `source` as published.
    SharedPeer published;
    std::atomic<std::uint32_t> latched{0};  // first packets latched, one per opening at most
    std::atomic<std::uint32_t> moved{0};    // moves to a new source
    // Packet thread only.
    Peer source;  // none = open (or never opened)
    std::uint32_t seen_epoch = 0;
    Peer candidate;  // source that may take over
    std::uint32_t candidate_packets = 0;
    // Control plane only: what the last look at the latch already reported.
    std::uint32_t reported_latched = 0;
    std::uint32_t reported_moved = 0;
};

struct LegSlot {
    std::atomic<int> fd[2] = {-1, -1};  // indexed by Socket: where the leg sends from
    SharedPeer send_to[2];              // (+kConnected); none = don't send
    SharedPeer accept_from[2];          // none = nothing accepted yet
    std::atomic<bool> learn{true};      // Latching::learn, else the signalled source only
    Latch latch[2];                     // indexed by Socket
    // Packet thread only: its copies of send_to (read by the far leg's
    // packets) and accept_from (read by this leg's).
    CachedPeer send_to_seen[2];
    CachedPeer accept_from_seen[2];
    PortPair ports;  // control plane only
};

struct SessionSlot {
    LegSlot leg[2];                                     // indexed by Leg
    std::atomic<TapSink*> tap[2] = {nullptr, nullptr};  // indexed by Direction

    // Control plane only.
    enum class State : std::uint8_t { free, live, releasing };
    State state = State::free;
    std::uint16_t generation = 0;  // high half of the SessionId: a stale id never matches
};

// What the packet thread finds in an epoll event: the socket and where it
// belongs, so no lookup is needed.
struct SocketTag {
    int fd;
    std::uint16_t slot;
    Leg leg;
    Socket socket;
};

constexpr std::uint64_t encode(SocketTag t) noexcept {
    return static_cast<std::uint32_t>(t.fd) | (std::uint64_t{t.slot} << 32) |
           (std::uint64_t{static_cast<std::uint8_t>(t.leg)} << 48) | (std::uint64_t{t.socket} << 49);
}
constexpr SocketTag decode(std::uint64_t v) noexcept {
    return SocketTag{static_cast<int>(v & 0xffffffffu), static_cast<std::uint16_t>(v >> 32),
                     static_cast<Leg>((v >> 48) & 1u), static_cast<Socket>((v >> 49) & 1u)};
}

}  // namespace voxfork::media
