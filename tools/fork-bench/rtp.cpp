#include "rtp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace forkbench {
namespace {

constexpr std::size_t header_size = 12, payload_size = 160, packet_size = header_size + payload_size;
constexpr unsigned ticks_per_period = 20;  // 1 ms ticks of a 20 ms packet period
constexpr unsigned batch_max = 1024;

int bind_loopback(std::uint16_t& port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) throw std::runtime_error("socket");
    int size = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

}  // namespace

Media::Media(unsigned streams, Receivers receivers)
    : streams_(streams), receivers_(receivers), latency_(std::make_unique<Histogram>()) {
    for (int s = 0; s < 2; ++s) {
        fds_[s] = bind_loopback(ports_[s]);
        // The kernel stamps each datagram as it is queued, so a polling
        // receiver measures the relay's latency, not its own polling delay.
        const int on = 1;
        setsockopt(fds_[s], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
        dest_[s] = std::vector<std::atomic<std::uint16_t>>(streams);
        sent_[s] = received_[s] = window_received_[s] = 0;
    }
}

Media::~Media() {
    stop();
    for (int fd : fds_) close(fd);
}

void Media::set_destination(Side side, unsigned index, std::uint16_t port) {
    if (index < streams_) dest_[side][index].store(port, std::memory_order_relaxed);
}

void Media::start() {
    sending_ = running_ = true;
    sender_ = std::thread([this] { send_loop(); });
    receiver_ = std::thread([this] { receive_loop(); });
}

void Media::stop_sending() {
    sending_ = false;
    if (sender_.joinable()) sender_.join();
}

void Media::stop() {
    stop_sending();
    running_ = false;
    if (receiver_.joinable()) receiver_.join();
}

MediaCounts Media::totals() const {
    MediaCounts c;
    for (int s = 0; s < 2; ++s) c.sent[s] = sent_[s].load(), c.received[s] = received_[s].load();
    return c;
}

MediaCounts Media::window() const {
    MediaCounts c;
    for (int s = 0; s < 2; ++s) c.received[s] = window_received_[s].load();
    return c;
}

void Media::send_loop() {
    std::vector<unsigned char> buffers(batch_max * packet_size, 0xFF);  // 0xFF: PCMU silence
    std::vector<iovec> iov(batch_max);
    std::vector<mmsghdr> msgs(batch_max);
    std::vector<sockaddr_in> to(batch_max);
    std::vector<std::uint16_t> seq[2] = {std::vector<std::uint16_t>(streams_), std::vector<std::uint16_t>(streams_)};
    std::vector<std::uint32_t> ts[2] = {std::vector<std::uint32_t>(streams_), std::vector<std::uint32_t>(streams_)};
    auto next = std::chrono::steady_clock::now();
    for (unsigned tick = 0; sending_.load(std::memory_order_relaxed); tick = (tick + 1) % ticks_per_period) {
        next += std::chrono::milliseconds(1);
        std::this_thread::sleep_until(next);
        for (std::uint32_t side = 0; side < 2; ++side) {
            unsigned n = 0;
            std::uint64_t stamp = now_ns();
            for (unsigned i = tick; i < streams_ && n < batch_max; i += ticks_per_period) {
                std::uint16_t port = dest_[side][i].load(std::memory_order_relaxed);
                if (port == 0) continue;
                unsigned char* p = &buffers[n * packet_size];
                std::uint32_t ssrc = htonl((side << 31) | i), t = htonl(ts[side][i] += 160);
                const std::uint16_t packet = seq[side][i]++;
                std::uint16_t s = htons(packet);
                p[0] = 0x80;
                p[1] = 0;  // PT 0, PCMU
                std::memcpy(p + 2, &s, 2);
                std::memcpy(p + 4, &t, 4);
                std::memcpy(p + 8, &ssrc, 4);
                put_stamp(p + header_size, Stamp{stamp, (side << 31) | i, packet});
                to[n] = sockaddr_in{};
                to[n].sin_family = AF_INET;
                to[n].sin_port = htons(port);
                to[n].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                iov[n] = {p, packet_size};
                msgs[n].msg_hdr = msghdr{};
                msgs[n].msg_hdr.msg_name = &to[n];
                msgs[n].msg_hdr.msg_namelen = sizeof to[n];
                msgs[n].msg_hdr.msg_iov = &iov[n];
                msgs[n].msg_hdr.msg_iovlen = 1;
                ++n;
            }
            unsigned done = 0;
            while (done < n) {
                int r = sendmmsg(fds_[side], &msgs[done], n - done, 0);
                if (r <= 0) break;  // a full buffer counts as sent and lost
                done += static_cast<unsigned>(r);
            }
            sent_[side].fetch_add(n, std::memory_order_relaxed);
        }
    }
}

// The kernel's receive stamp (CLOCK_REALTIME) of a datagram, on the bench's
// monotonic clock; `realtime_offset` is realtime minus monotonic.
std::uint64_t arrival_ns(const msghdr& message, std::int64_t realtime_offset) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&message), c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return static_cast<std::uint64_t>(ts.tv_sec * 1'000'000'000LL + ts.tv_nsec - realtime_offset);
        }
    }
    return now_ns();
}

std::int64_t realtime_minus_monotonic() {
    timespec real{};
    clock_gettime(CLOCK_REALTIME, &real);
    return real.tv_sec * 1'000'000'000LL + real.tv_nsec - static_cast<std::int64_t>(now_ns());
}

void Media::receive_loop() {
    constexpr std::size_t control_size = CMSG_SPACE(sizeof(timespec));
    std::vector<unsigned char> buffers(batch_max * 2048);
    std::vector<unsigned char> controls(batch_max * control_size);
    std::vector<iovec> iov(batch_max);
    std::vector<mmsghdr> msgs(batch_max);
    for (unsigned i = 0; i < batch_max; ++i) iov[i] = {&buffers[i * 2048], 2048};
    pollfd pfd[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    while (running_.load(std::memory_order_relaxed)) {
        if (receivers_ == Receivers::wake)
            poll(pfd, 2, 10);
        else
            pause_between_polls();
        for (int side = 0; side < 2; ++side) {
            for (;;) {
                for (unsigned i = 0; i < batch_max; ++i) {
                    msgs[i].msg_hdr = msghdr{};
                    msgs[i].msg_hdr.msg_iov = &iov[i];
                    msgs[i].msg_hdr.msg_iovlen = 1;
                    msgs[i].msg_hdr.msg_control = &controls[i * control_size];
                    msgs[i].msg_hdr.msg_controllen = control_size;
                }
                int r = recvmmsg(fds_[side], msgs.data(), batch_max, MSG_DONTWAIT, nullptr);
                if (r <= 0) break;
                const std::int64_t offset = realtime_minus_monotonic();
                bool measuring = measuring_.load(std::memory_order_relaxed);
                unsigned good = 0;
                for (int i = 0; i < r; ++i) {
                    if (msgs[i].msg_len != packet_size) continue;
                    ++good;
                    if (measuring)
                        latency_->add(arrival_ns(msgs[i].msg_hdr, offset) -
                                      get_stamp(&buffers[i * 2048] + header_size).sent_ns);
                }
                received_[side].fetch_add(good, std::memory_order_relaxed);
                if (measuring) window_received_[side].fetch_add(good, std::memory_order_relaxed);
            }
        }
    }
}

}  // namespace forkbench
