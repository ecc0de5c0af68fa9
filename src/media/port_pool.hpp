// The pool of RTP/RTCP port pairs of `rtp-port range`, and the UDP sockets
// bound on them. Control-plane only: the caller serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "voxfork/net.hpp"

namespace voxfork::media {

// One bound pair: RTP on an even port, RTCP on the next one. The RTP port has
// a second socket, `rtp_peer_fd`, that the relay connects to the leg's remote
// and sends on: a connected UDP socket keeps its route, where sendto() looks
// one up per packet (see docs/media.md). Packets from that remote arrive on
// it; anything else sent to the port arrives on `rtp_fd`.
struct PortPair {
    std::uint16_t rtp_port = 0;
    net::Family family = net::Family::v4;
    int rtp_fd = -1;
    int rtp_peer_fd = -1;
    int rtcp_fd = -1;
};

class PortPool {
public:
    // Every even port p of [port_min, port_max] with p + 1 <= port_max, one
    // range for both families: a port number is in use by at most one leg,
    // whatever its family, so `ports_free` means the same on a dual-stack relay.
    // Throws std::invalid_argument for an odd or empty range.
    PortPool(std::optional<net::Address> ipv4, std::optional<net::Address> ipv6, std::uint16_t port_min,
             std::uint16_t port_max);

    bool has(net::Family family) const noexcept { return address(family).has_value(); }
    const std::optional<net::Address>& address(net::Family family) const noexcept {
        return family == net::Family::v6 ? ipv6_ : ipv4_;
    }

    // Where pairs taken from now on bind (a reload); pairs out keep theirs.
    void set_addresses(std::optional<net::Address> ipv4, std::optional<net::Address> ipv6) noexcept {
        ipv4_ = ipv4;
        ipv6_ = ipv6;
    }

    // Binds the next free pair on the pool's address of `family`. Pairs
    // another program holds are skipped (and counted in `skipped_in_use`);
    // they stay in the pool for a later try. nullopt when no pair could be
    // bound or the pool has no address of that family.
    std::optional<PortPair> take(net::Family family, std::uint64_t& skipped_in_use);
    // Closes the pair's sockets; its ports go to the back of the pool, so a
    // just-released port is the last to be reused (late packets of an ended
    // call don't land in a new one).
    void give_back(PortPair& pair) noexcept;

    std::size_t free() const noexcept { return free_.size(); }
    std::size_t total() const noexcept { return total_; }

private:
    std::optional<net::Address> ipv4_;
    std::optional<net::Address> ipv6_;
    std::size_t total_ = 0;
    std::deque<std::uint16_t> free_;  // RTP ports, next to use at the front
};

// A non-blocking UDP socket bound on address:port, or -1 with errno set.
// `join` binds it beside a socket of ours already there (SO_REUSEPORT);
// without it the bind fails if any socket holds the port.
enum class Share : bool { no, join };
// An IPv6 socket is IPV6_V6ONLY: it never sees IPv4 traffic as v4-mapped.
int bind_udp(const net::Address& address, std::uint16_t port, Share share = Share::no) noexcept;

}  // namespace voxfork::media
