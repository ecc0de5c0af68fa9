// Test helpers: a UDP socket on loopback playing a call's remote party, RTP
// packet building, and a random port range for the relay under test.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "voxfork/media.hpp"
#include "voxfork/net.hpp"

namespace voxfork::media::test {

using Bytes = std::vector<std::uint8_t>;
using Endpoint = net::Endpoint;

inline net::Address loopback(std::uint8_t last = 1) {
    return net::Address::v4((127u << 24) | last);
}
inline net::Address loopback6() {
    return net::Address::loopback(net::Family::v6);
}

struct Datagram {
    Bytes data;
    std::uint16_t from_port = 0;
    net::Address from_address;
};

class UdpPeer {
public:
    enum class Sharing : bool { alone, reuse_port };  // reuse_port: SO_REUSEPORT, as some programs bind

    // On 127.0.0.x or ::1; it sends to the relay on the loopback address of its own family.
    explicit UdpPeer(net::Address address = loopback(), std::uint16_t port = 0, Sharing sharing = Sharing::alone) {
        fd_ = ::socket(address.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        const int on = 1;
        if (fd_ >= 0 && sharing == Sharing::reuse_port) ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
        if (fd_ >= 0 && address.is_v6()) ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        sockaddr_storage sa{};
        const socklen_t length = Endpoint{address, port}.to_sockaddr(sa);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), length) != 0) {
            if (fd_ >= 0) ::close(fd_);
            throw std::runtime_error("bind failed on port " + std::to_string(port));
        }
        socklen_t len = sizeof sa;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
        endpoint_ = *Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&sa));
    }
    ~UdpPeer() { ::close(fd_); }
    UdpPeer(const UdpPeer&) = delete;
    UdpPeer& operator=(const UdpPeer&) = delete;

    Endpoint endpoint() const { return endpoint_; }
    std::uint16_t port() const { return endpoint_.port; }

    void send_to(std::uint16_t port, const Bytes& data) const {
        sockaddr_storage sa{};
        const net::Address relay = endpoint_.address.is_v6() ? loopback6() : loopback();
        const socklen_t length = Endpoint{relay, port}.to_sockaddr(sa);
        ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&sa), length);
    }

    std::optional<Datagram> receive(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
        Datagram d;
        d.data.resize(4096);
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const auto n = ::recvfrom(fd_, d.data.data(), d.data.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return std::nullopt;
        d.data.resize(static_cast<std::size_t>(n));
        const auto source = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from));
        if (source) {
            d.from_port = source->port;
            d.from_address = source->address;
        }
        return d;
    }

    // True when nothing arrives within `quiet`.
    bool silent(std::chrono::milliseconds quiet = std::chrono::milliseconds(150)) const {
        return !receive(quiet).has_value();
    }

private:
    int fd_ = -1;
    Endpoint endpoint_;
};

struct RtpFields {
    std::uint16_t sequence = 1;
    std::uint32_t timestamp = 160;
    std::uint32_t ssrc = 0x11223344;
    std::uint8_t payload_type = 0;
    bool marker = false;
    unsigned csrc_count = 0;
    unsigned extension_words = 0;  // 0: no extension
    bool with_extension = false;
    std::uint8_t padding = 0;  // 0: no padding
};

inline Bytes rtp_packet(const RtpFields& f, const Bytes& payload) {
    Bytes p;
    p.push_back(
        static_cast<std::uint8_t>(0x80 | (f.padding ? 0x20 : 0) | (f.with_extension ? 0x10 : 0) | f.csrc_count));
    p.push_back(static_cast<std::uint8_t>((f.marker ? 0x80 : 0) | f.payload_type));
    p.push_back(static_cast<std::uint8_t>(f.sequence >> 8));
    p.push_back(static_cast<std::uint8_t>(f.sequence));
    for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<std::uint8_t>(f.timestamp >> shift));
    for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<std::uint8_t>(f.ssrc >> shift));
    for (unsigned i = 0; i < f.csrc_count * 4; ++i) p.push_back(0xc0);
    if (f.with_extension) {
        p.insert(p.end(), {0xbe, 0xde, static_cast<std::uint8_t>(f.extension_words >> 8),
                           static_cast<std::uint8_t>(f.extension_words)});
        for (unsigned i = 0; i < f.extension_words * 4; ++i) p.push_back(0xee);
    }
    p.insert(p.end(), payload.begin(), payload.end());
    if (f.padding) {
        for (unsigned i = 1; i < f.padding; ++i) p.push_back(0);
        p.push_back(f.padding);
    }
    return p;
}

inline Bytes payload_of(std::uint8_t seed, std::size_t size = 160) {
    Bytes b(size);
    for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
    return b;
}

// An even port range of `pairs` pairs (at most 128) in 10000..16000: below
// the default relay range and the kernel's ephemeral ports. ctest runs two
// test processes at once: a range is one of 23 blocks of 256 ports, claimed
// with a lock file that this process holds until it ends, so no other test
// process can take its ports between the check and the bind (a check alone
// cannot stop that; process ids that land close together once did). A block
// with a port some other program holds right now is passed over.
inline RelayOptions random_range(unsigned pairs) {
    constexpr unsigned first_port = 10000, blocks = 23, block_ports = 256;
    static std::vector<int> claimed;  // lock files held for the process's lifetime
    RelayOptions o;
    o.bind_address = "127.0.0.1";
    o.bind_address_ipv6 = "::1";  // legs of either family (a relay that has no IPv6 leg never binds it)
    const unsigned start = static_cast<unsigned>(::getpid()) % blocks;
    for (unsigned i = 0; i < blocks; ++i) {
        const unsigned block = (start + i) % blocks;
        const std::string lock = "/tmp/voxfork-media-test-ports-" + std::to_string(block) + ".lock";
        const int fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
        if (fd < 0) continue;
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            continue;
        }
        o.port_min = static_cast<std::uint16_t>(first_port + block * block_ports);
        o.port_max = static_cast<std::uint16_t>(o.port_min + pairs * 2 - 1);
        bool all_free = true;
        for (unsigned port = o.port_min; all_free && port <= o.port_max; ++port) {
            for (const net::Address& address : {loopback(), loopback6()}) {
                try {
                    UdpPeer probe(address, static_cast<std::uint16_t>(port));
                } catch (const std::runtime_error&) {
                    all_free = false;
                }
            }
        }
        if (all_free) {
            claimed.push_back(fd);
            return o;
        }
        ::close(fd);
    }
    throw std::runtime_error("no free block of test ports in 10000..16000");
}

}  // namespace voxfork::media::test

namespace voxfork::media::test {

// Polls `condition` until it holds or 3 s have passed (generous: CI hosts are busy).
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

inline std::uint64_t value(const std::atomic<std::uint64_t>& counter) {
    return counter.load();
}

}  // namespace voxfork::media::test
