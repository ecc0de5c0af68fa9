#include "floor.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "traffic.hpp"

namespace relay_bench {
namespace {

int loopback_socket(sockaddr_in& bound) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int size = 8 * 1024 * 1024;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    bound = sockaddr_in{};
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof bound;
    ::bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    return fd;
}

}  // namespace

double kernel_floor_us(unsigned packets) {
    sockaddr_in generator_address{}, relay_address{}, sink_address{};
    const int generator = loopback_socket(generator_address);
    const int relay = loopback_socket(relay_address);
    const int sink = loopback_socket(sink_address);
    // Sends go out of a socket connected to the sink, as the relay sends on
    // sockets connected to each leg's remote (no route lookup per datagram).
    sockaddr_in out_address{};
    const int relay_out = loopback_socket(out_address);
    ::connect(relay_out, reinterpret_cast<const sockaddr*>(&sink_address), sizeof sink_address);
    std::atomic<bool> done{false};
    double per_packet_us = 0;

    std::thread forwarder([&] {
        std::uint8_t buffer[2048];
        const std::int64_t before = thread_cpu_ns();
        for (unsigned i = 0; i < packets; ++i) {
            const auto n = ::recv(relay, buffer, sizeof buffer, 0);
            ::send(relay_out, buffer, static_cast<std::size_t>(n), 0);
        }
        per_packet_us = static_cast<double>(thread_cpu_ns() - before) / 1e3 / packets;
    });
    std::thread drain([&] {  // empties the sink without sleeping on it (no wake-ups to pay)
        std::uint8_t buffer[2048];
        const timespec pause{0, 200'000};
        while (!done.load()) {
            while (::recv(sink, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
            }
            ::clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, nullptr);
        }
    });
    const std::uint8_t packet[172] = {0x80};
    const timespec tick{0, 100'000};
    for (unsigned sent = 0; sent < packets; sent += 10) {
        for (unsigned k = 0; k < 10; ++k)
            ::sendto(generator, packet, sizeof packet, 0, reinterpret_cast<const sockaddr*>(&relay_address),
                     sizeof relay_address);
        ::clock_nanosleep(CLOCK_MONOTONIC, 0, &tick, nullptr);
    }
    forwarder.join();
    done.store(true);
    drain.join();
    ::close(generator);
    ::close(relay);
    ::close(relay_out);
    ::close(sink);
    return per_packet_us;
}

}  // namespace relay_bench
