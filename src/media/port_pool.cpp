#include "port_pool.hpp"

#include <cerrno>
#include <stdexcept>

#include <sys/socket.h>
#include <unistd.h>

namespace voxfork::media {
namespace {

// Enough for a burst of a few hundred packets if the packet thread is briefly
// descheduled; the kernel clamps it to net.core.rmem_max.
constexpr int kReceiveBuffer = 256 * 1024;

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

int bind_udp(in_addr address, std::uint16_t port) noexcept {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof kReceiveBuffer);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = address;
    sa.sin_port = htons(port);
    // No SO_REUSEADDR: a port someone else holds must fail here, not be shared.
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

PortPool::PortPool(in_addr bind_address, std::uint16_t port_min, std::uint16_t port_max) : bind_address_(bind_address) {
    if (port_min % 2 != 0 || port_min >= port_max)
        throw std::invalid_argument("rtp-port range: MIN must be even and below MAX");
    for (unsigned p = port_min; p + 1 <= port_max; p += 2) free_.push_back(static_cast<std::uint16_t>(p));
    total_ = free_.size();
}

std::optional<PortPair> PortPool::take(std::uint64_t& skipped_in_use) {
    for (std::size_t tries = free_.size(); tries > 0; --tries) {
        const std::uint16_t port = free_.front();
        free_.pop_front();
        PortPair pair{port, bind_udp(bind_address_, port), -1};
        int failure = pair.rtp_fd < 0 ? errno : 0;
        if (failure == 0) {
            pair.rtcp_fd = bind_udp(bind_address_, static_cast<std::uint16_t>(port + 1));
            if (pair.rtcp_fd < 0) failure = errno;
        }
        if (failure == 0) return pair;
        close_fd(pair.rtp_fd);
        free_.push_back(port);
        if (failure != EADDRINUSE) return std::nullopt;  // every port would fail alike
        ++skipped_in_use;
    }
    return std::nullopt;
}

void PortPool::give_back(PortPair& pair) noexcept {
    if (pair.rtp_port == 0) return;
    close_fd(pair.rtp_fd);
    close_fd(pair.rtcp_fd);
    free_.push_back(pair.rtp_port);
    pair.rtp_port = 0;
}

}  // namespace voxfork::media
