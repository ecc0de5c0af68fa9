#include "traffic.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <thread>

namespace relay_bench {
namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kPayload = 160;  // 20 ms of G.711
constexpr std::size_t kPacket = kHeader + kPayload;
constexpr std::int64_t kFrameNs = 20'000'000;
constexpr std::size_t kMaxLatencyUs = 1'000'000;
constexpr unsigned kReceiveBatch = 64;

// A socket whose buffers hold a whole tick's worth of packets for every call,
// so the generator itself loses nothing.
int bench_socket(voxfork::net::Endpoint& bound, std::uint16_t port, voxfork::net::Family family) {
    const bool v6 = family == voxfork::net::Family::v6;
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int size = 32 * 1024 * 1024;
    // SO_RCVBUFFORCE passes net.core.rmem_max when run as root; else the clamped SO_RCVBUF.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    // The kernel stamps each datagram as it is queued: latency is measured to
    // there, not to whenever the receiver thread gets round to reading.
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    sockaddr_storage sa{};
    socklen_t len = voxfork::net::Endpoint{voxfork::net::Address::loopback(family), port}.to_sockaddr(sa);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
        throw std::runtime_error("relay-bench: cannot bind a client socket");
    bound = *voxfork::net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&sa));
    return fd;
}

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
std::uint16_t get16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// One side's packets (callers' or callees'): a buffer and a message per call.
struct Side {
    explicit Side(std::size_t calls) : packets(calls), to(calls), iov(calls), messages(calls) {}
    std::vector<std::array<std::uint8_t, kPacket>> packets;
    std::vector<sockaddr_storage> to;
    socklen_t to_length = 0;
    std::vector<iovec> iov;
    std::vector<mmsghdr> messages;
    std::uint64_t sent = 0;

    // `relay`: the relay's address of this side's family.
    void prepare(std::size_t call, const voxfork::net::Address& relay, std::uint16_t port, std::uint8_t direction) {
        auto& p = packets[call];
        p.fill(0xff);  // µ-law silence
        p[0] = 0x80;
        p[1] = 0;                                                        // PT 0 (PCMU)
        put32(&p[8], static_cast<std::uint32_t>(call * 2 + direction));  // SSRC
        std::memcpy(&p[kHeader + 8], &call, 4);
        p[kHeader + 12] = direction;
        to[call] = sockaddr_storage{};
        to_length = voxfork::net::Endpoint{relay, port}.to_sockaddr(to[call]);
    }

    // Stamps packet `call` with its next sequence number and the send time,
    // and queues it as message `slot` of this tick.
    void stamp(std::size_t call, std::size_t slot, std::uint16_t sequence, std::int64_t now) {
        auto& p = packets[call];
        put16(&p[2], sequence);
        put32(&p[4], std::uint32_t{sequence} * 160u);
        std::memcpy(&p[kHeader], &now, 8);
        iov[slot] = iovec{p.data(), p.size()};
        messages[slot].msg_hdr = msghdr{};
        messages[slot].msg_hdr.msg_name = &to[call];
        messages[slot].msg_hdr.msg_namelen = to_length;
        messages[slot].msg_hdr.msg_iov = &iov[slot];
        messages[slot].msg_hdr.msg_iovlen = 1;
    }

    void flush(int fd, std::size_t count) {
        std::size_t done = 0;
        while (done < count) {
            const int n = ::sendmmsg(fd, &messages[done], static_cast<unsigned>(count - done), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    pollfd p{fd, POLLOUT, 0};
                    ::poll(&p, 1, 1);
                    continue;
                }
                ++done;  // this one is lost: it counts as sent, so it shows as loss
                ++sent;
                continue;
            }
            done += static_cast<std::size_t>(n);
            sent += static_cast<std::size_t>(n);
        }
    }
};

}  // namespace

std::int64_t realtime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t thread_cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Traffic::Traffic(std::uint16_t caller_port, std::uint16_t callee_port, voxfork::net::Family caller_family,
                 voxfork::net::Family callee_family) {
    caller_fd_ = bench_socket(caller_, caller_port, caller_family);
    callee_fd_ = bench_socket(callee_, callee_port, callee_family);
}

Traffic::~Traffic() {
    ::close(caller_fd_);
    ::close(callee_fd_);
}

TrafficResult Traffic::run(const std::vector<CallPorts>& calls, double seconds, int tick_us, int drain_ms) {
    TrafficResult result;
    result.latency_us.assign(kMaxLatencyUs + 1, 0);
    receiving_.store(true);
    std::thread receiver([&] { receive_loop(calls.size(), result); });
    send_loop(calls, seconds, std::int64_t{tick_us} * 1000, result);
    std::this_thread::sleep_for(std::chrono::milliseconds(drain_ms));
    receiving_.store(false);
    receiver.join();
    return result;
}

void Traffic::send_loop(const std::vector<CallPorts>& calls, double seconds, std::int64_t tick_ns,
                        TrafficResult& result) {
    const auto phases = static_cast<std::size_t>(kFrameNs / tick_ns);
    Side callers(calls.size()), callees(calls.size());
    for (std::size_t i = 0; i < calls.size(); ++i) {
        callers.prepare(i, caller_.address, calls[i].port_a, 0);
        callees.prepare(i, callee_.address, calls[i].port_b, 1);
    }
    std::vector<std::uint16_t> sequence(calls.size(), 0);
    const std::int64_t start = monotonic_ns() + tick_ns;
    const std::int64_t end = start + static_cast<std::int64_t>(seconds * 1e9);
    const std::int64_t cpu_before = thread_cpu_ns();
    for (std::int64_t tick = 0;; ++tick) {
        const std::int64_t due = start + tick * tick_ns;
        if (due >= end) break;
        const timespec at{static_cast<time_t>(due / 1'000'000'000), static_cast<long>(due % 1'000'000'000)};
        while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
        }
        std::size_t slot = 0;
        const std::int64_t now = realtime_ns();  // compared with the kernel's receive stamp
        for (std::size_t call = static_cast<std::size_t>(tick) % phases; call < calls.size(); call += phases) {
            callers.stamp(call, slot, sequence[call], now);
            callees.stamp(call, slot, sequence[call], now);
            ++sequence[call];
            ++slot;
        }
        callers.flush(caller_fd_, slot);
        callees.flush(callee_fd_, slot);
    }
    result.sender_cpu_ns = thread_cpu_ns() - cpu_before;
    result.sent = callers.sent + callees.sent;
}

// Reads without sleeping on the sockets: a reader blocked in poll() would be
// woken by every burst the relay sends, and on loopback that wake-up is
// charged to the relay thread's CPU (on a real network the NIC takes it).
void Traffic::receive_loop(std::size_t calls, TrafficResult& result) {
    std::vector<std::array<std::uint8_t, 256>> buffers(kReceiveBatch);
    std::vector<std::array<std::uint8_t, CMSG_SPACE(sizeof(timespec))>> controls(kReceiveBatch);
    std::vector<iovec> iov(kReceiveBatch);
    std::vector<mmsghdr> messages(kReceiveBatch);
    for (unsigned i = 0; i < kReceiveBatch; ++i) iov[i] = iovec{buffers[i].data(), buffers[i].size()};
    std::vector<int> last_sequence(calls * 2, -1);
    const std::int64_t cpu_before = thread_cpu_ns();
    const timespec pause{0, 200'000};
    while (receiving_.load(std::memory_order_relaxed)) {
        for (const int fd : {caller_fd_, callee_fd_}) {
            for (;;) {
                for (unsigned i = 0; i < kReceiveBatch; ++i) {
                    messages[i].msg_hdr = msghdr{};
                    messages[i].msg_hdr.msg_iov = &iov[i];
                    messages[i].msg_hdr.msg_iovlen = 1;
                    messages[i].msg_hdr.msg_control = controls[i].data();
                    messages[i].msg_hdr.msg_controllen = controls[i].size();
                }
                const int n = ::recvmmsg(fd, messages.data(), kReceiveBatch, MSG_DONTWAIT, nullptr);
                if (n <= 0) break;
                for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
                    record(messages[i], buffers[i].data(), last_sequence, result);
                if (static_cast<unsigned>(n) < kReceiveBatch) break;
            }
        }
        ::clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, nullptr);
    }
    result.receiver_cpu_ns = thread_cpu_ns() - cpu_before;
}

void Traffic::record(const mmsghdr& message, const std::uint8_t* b, std::vector<int>& last_sequence,
                     TrafficResult& result) {
    if (message.msg_len != kPacket) return;
    std::int64_t received_at = realtime_ns();
    for (cmsghdr* c = CMSG_FIRSTHDR(&message.msg_hdr); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&message.msg_hdr), c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            received_at = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
        }
    }
    std::int64_t sent_at = 0;
    std::uint32_t call = 0;
    std::memcpy(&sent_at, b + kHeader, 8);
    std::memcpy(&call, b + kHeader + 8, 4);
    const std::size_t stream = std::size_t{call} * 2 + b[kHeader + 12];
    if (stream >= last_sequence.size()) return;
    ++result.received;
    const auto us = static_cast<std::size_t>(std::max<std::int64_t>(0, (received_at - sent_at) / 1000));
    ++result.latency_us[std::min(us, kMaxLatencyUs)];
    const std::uint16_t seq = get16(b + 2);
    if (last_sequence[stream] >= 0 &&
        static_cast<std::int16_t>(seq - static_cast<std::uint16_t>(last_sequence[stream])) <= 0)
        ++result.out_of_order;
    last_sequence[stream] = seq;
}

}  // namespace relay_bench
