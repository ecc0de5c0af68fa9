#include "port_pool.hpp"

#include <cerrno>
#include <stdexcept>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace voxfork::media {
namespace {

// Enough for a burst of a few hundred packets if the packet thread is briefly
// descheduled; the kernel clamps it to net.core.rmem_max.
constexpr int kReceiveBuffer = 256 * 1024;
constexpr int kOn = 1;
constexpr int kOff = 0;

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

int bind_udp(const net::Address& address, std::uint16_t port, Share share) noexcept {
    const int fd = ::socket(address.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof kReceiveBuffer);
    if (address.is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &kOn, sizeof kOn);
    if (share == Share::join) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &kOn, sizeof kOn);
    sockaddr_storage sa{};
    const socklen_t length = net::Endpoint{address, port}.to_sockaddr(sa);
    // Share::no binds without SO_REUSEADDR or SO_REUSEPORT: a port someone
    // else holds, whatever their options, must fail here, not be shared.
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), length) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

namespace {

// The RTP port's two sockets. The first is bound alone, so a port held by
// anyone (even with SO_REUSEPORT) is refused; only then does it admit the
// second beside it, and then no one else: SO_REUSEPORT is checked at bind
// time only, so clearing it shuts the port again. Which socket a datagram
// goes to doesn't depend on it (a connected socket wins for its peer).
int bind_rtp_pair(const net::Address& address, std::uint16_t port, int& peer_fd) noexcept {
    const int fd = bind_udp(address, port);
    if (fd < 0) return -1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &kOn, sizeof kOn);
    peer_fd = bind_udp(address, port, Share::join);
    if (peer_fd >= 0) {
        for (const int shut : {fd, peer_fd}) ::setsockopt(shut, SOL_SOCKET, SO_REUSEPORT, &kOff, sizeof kOff);
        return fd;
    }
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
}

}  // namespace

PortPool::PortPool(std::optional<net::Address> ipv4, std::optional<net::Address> ipv6, std::uint16_t port_min,
                   std::uint16_t port_max)
    : ipv4_(ipv4), ipv6_(ipv6) {
    if (port_min % 2 != 0 || port_min >= port_max)
        throw std::invalid_argument("rtp-port range: MIN must be even and below MAX");
    for (unsigned p = port_min; p + 1 <= port_max; p += 2) free_.push_back(static_cast<std::uint16_t>(p));
    total_ = free_.size();
}

std::optional<PortPair> PortPool::take(net::Family family, std::uint64_t& skipped_in_use) {
    if (!has(family)) return std::nullopt;
    const net::Address& bind_address = *address(family);
    for (std::size_t tries = free_.size(); tries > 0; --tries) {
        const std::uint16_t port = free_.front();
        free_.pop_front();
        PortPair pair{.rtp_port = port, .family = family};
        pair.rtp_fd = bind_rtp_pair(bind_address, port, pair.rtp_peer_fd);
        int failure = pair.rtp_fd < 0 ? errno : 0;
        if (failure == 0) {
            pair.rtcp_fd = bind_udp(bind_address, static_cast<std::uint16_t>(port + 1));
            if (pair.rtcp_fd < 0) failure = errno;
        }
        if (failure == 0) return pair;
        close_fd(pair.rtp_fd);
        close_fd(pair.rtp_peer_fd);
        free_.push_back(port);
        if (failure != EADDRINUSE) return std::nullopt;  // every port would fail alike
        ++skipped_in_use;
    }
    return std::nullopt;
}

void PortPool::give_back(PortPair& pair) noexcept {
    if (pair.rtp_port == 0) return;
    close_fd(pair.rtp_fd);
    close_fd(pair.rtp_peer_fd);
    close_fd(pair.rtcp_fd);
    free_.push_back(pair.rtp_port);
    pair.rtp_port = 0;
}

}  // namespace voxfork::media
