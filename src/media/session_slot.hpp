// One call's relay state, preallocated. The control plane writes it, the
// packet thread reads it: everything the packet thread reads is an atomic.
#pragma once

#include <atomic>
#include <cstdint>

#include "port_pool.hpp"
#include "voxfork/media.hpp"

namespace voxfork::media {

enum Socket : std::uint8_t { rtp_socket = 0, rtcp_socket = 1 };

// An Endpoint in one word, so it is read and written whole.
constexpr std::uint64_t pack(Endpoint e) noexcept {
    return (std::uint64_t{e.address} << 16) | e.port;
}
constexpr Endpoint unpack(std::uint64_t v) noexcept {
    return Endpoint{static_cast<std::uint32_t>((v >> 16) & 0xffffffffu), static_cast<std::uint16_t>(v & 0xffffu)};
}
// Set in a packed send_to when the leg's sending socket is connected to that
// endpoint: the packet thread then sends without an address.
constexpr std::uint64_t kConnectedFlag = std::uint64_t{1} << 63;

// One socket's latch (docs/media.md, "Latching"): the source the leg's
// remote really sends from, learned by the packet thread.
struct Latch {
    // Control plane: bumped by each set_remote that names an address, which
    // opens the latch again; 0 = no remote signalled yet, nothing latches.
    std::atomic<std::uint32_t> epoch{0};
    // Packet thread writes, the control plane reads.
    std::atomic<std::uint64_t> source{0};   // packed; 0 = open (or never opened)
    std::atomic<std::uint32_t> latched{0};  // first packets latched, one per opening at most
    std::atomic<std::uint32_t> moved{0};    // moves to a new source
    // Packet thread only.
    std::uint32_t seen_epoch = 0;
    std::uint64_t candidate = 0;  // packed source that may take over
    std::uint32_t candidate_packets = 0;
    // Control plane only: what the last look at the latch already reported.
    std::uint32_t reported_latched = 0;
    std::uint32_t reported_moved = 0;
};

struct LegSlot {
    std::atomic<int> fd[2] = {-1, -1};                   // indexed by Socket: where the leg sends from
    std::atomic<std::uint64_t> send_to[2] = {0, 0};      // packed (+kConnectedFlag); address 0 = don't send
    std::atomic<std::uint64_t> accept_from[2] = {0, 0};  // packed; address 0 = nothing accepted yet
    std::atomic<bool> learn{true};                       // Latching::learn, else the signalled source only
    Latch latch[2];                                      // indexed by Socket
    PortPair ports;                                      // control plane only
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
