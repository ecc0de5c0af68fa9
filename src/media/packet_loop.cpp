#include "packet_loop.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <system_error>

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "rtp.hpp"

namespace voxfork::media {
namespace {

constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};  // encode() never sets the top bits
constexpr int kEpollTimeoutMs = 500;                   // only a safety net: stop() and quiesce() wake the loop

// The packet thread is the only writer of the direction counters, so a plain
// relaxed store is enough (no locked read-modify-write per packet).
void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
void bump_u32(std::atomic<std::uint32_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// What may latch an RTCP port: an RTCP packet type (RFC 3550: 200-204 and
// the rest of 192-223), not any version-2 datagram.
bool rtcp_type(std::span<const std::uint8_t> datagram) noexcept {
    return datagram.size() >= 2 && datagram[1] >= 192 && datagram[1] <= 223;
}

std::int64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

PacketLoop::PacketLoop(std::span<SessionSlot> slots, RelayCounters& counters, bool strict_source_port,
                       int realtime_priority, unsigned latch_move_packets)
    : slots_(slots),
      counters_(counters),
      strict_source_port_(strict_source_port),
      realtime_priority_(realtime_priority),
      latch_move_packets_(std::max(latch_move_packets, 1u)),
      events_(kEvents),
      buffers_(kBatch * kMaxDatagram),
      in_(kBatch),
      in_iov_(kBatch),
      from_(kBatch),
      out_(kBatch),
      out_iov_(kBatch),
      out_index_(kBatch) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    if (wake_fd_ < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
        const int saved = errno;
        if (wake_fd_ >= 0) ::close(wake_fd_);
        ::close(epoll_fd_);
        throw std::system_error(saved, std::generic_category(), "eventfd");
    }
    for (unsigned i = 0; i < kBatch; ++i) {
        in_iov_[i] = iovec{&buffers_[i * kMaxDatagram], kMaxDatagram};
        in_[i].msg_hdr = msghdr{};
        in_[i].msg_hdr.msg_name = &from_[i];
        in_[i].msg_hdr.msg_iov = &in_iov_[i];
        in_[i].msg_hdr.msg_iovlen = 1;
        out_[i].msg_hdr = msghdr{};
        out_[i].msg_hdr.msg_iov = &out_iov_[i];
        out_[i].msg_hdr.msg_iovlen = 1;
    }
}

PacketLoop::~PacketLoop() {
    stop();
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void PacketLoop::start() {
    if (thread_.joinable()) return;
    running_.store(true);
    alive_.store(true);
    realtime_granted_.store(-1);
    thread_ = std::thread([this] { run(); });
    // Whoever reports the priority reports what the thread got, not what was asked.
    while (realtime_granted_.load() < 0) std::this_thread::yield();
}

void PacketLoop::stop() {
    if (!thread_.joinable()) return;
    running_.store(false);
    wake();
    thread_.join();
    thread_id_.store(std::thread::id{});
}

// Edge-triggered: epoll reports a socket once per arrival instead of
// re-polling every socket it reported on the next wait (level-triggered cost
// a sock_poll per packet). drain() reads until a short batch, so nothing is
// left behind unreported.
bool PacketLoop::watch(SocketTag tag) noexcept {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = encode(tag);
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, tag.fd, &ev) == 0;
}

// A flooded socket gets a few batches per pass, so one pass stays short (see
// quiesce) and the other sockets get their turn; then epoll is asked to report
// it again (a MOD re-checks readiness, the socket is open until the pass ends).
void PacketLoop::drain(SocketTag tag) noexcept {
    for (unsigned round = 0; round < kBatchesPerPass; ++round) {
        if (on_readable(tag) < kBatch) return;  // short: the queue is empty
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = encode(tag);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, tag.fd, &ev);  // ENOENT if unwatched meanwhile: nothing to do
}

void PacketLoop::unwatch(int fd) noexcept {
    if (fd >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void PacketLoop::wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto ignored = ::write(wake_fd_, &one, sizeof one);
}

// The handshake: a pass of the loop reads taps and sockets only between its
// start and its increment of passes_. Everything here is sequentially
// consistent, so a tap cleared before `seen` was read can't be loaded by any
// pass that ends after `seen`'s increment; waiting for one increment is enough.
// The wait is bounded by one pass (at most kEvents sockets × kBatch datagrams,
// taps don't block), and the wake makes an idle loop pass at once.
void PacketLoop::quiesce() noexcept {
    if (!alive_.load() || thread_id_.load() == std::this_thread::get_id()) return;
    const std::uint64_t seen = passes_.load();
    wake();
    for (unsigned spins = 0; passes_.load() == seen && alive_.load(); ++spins) {
        if (spins < 64)
            std::this_thread::yield();
        else
            std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
}

void PacketLoop::run() noexcept {
    thread_id_.store(std::this_thread::get_id());
    int granted = 0;
    if (realtime_priority_ > 0) {
        const sched_param priority{std::min(realtime_priority_, 99)};
        // Best effort: the process may lack the right (CAP_SYS_NICE, RLIMIT_RTPRIO).
        if (::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &priority) == 0) granted = priority.sched_priority;
    }
    realtime_granted_.store(granted);
    // Named once its priority is set, so whoever finds it by name sees it.
    ::pthread_setname_np(::pthread_self(), "vf-rtp-relay");  // findable in top -H and by relay-bench
    while (running_.load()) {
        const int n = ::epoll_wait(epoll_fd_, events_.data(), kEvents, kEpollTimeoutMs);
        for (int i = 0; i < n; ++i) {
            if (events_[i].data.u64 == kWakeTag) {
                std::uint64_t drained = 0;
                [[maybe_unused]] const auto ignored = ::read(wake_fd_, &drained, sizeof drained);
            } else {
                drain(decode(events_[i].data.u64));
            }
        }
        passes_.fetch_add(1);
    }
    passes_.fetch_add(1);
    alive_.store(false);
}

bool PacketLoop::source_accepted(const Peer& accept, const Peer& from) const noexcept {
    if (!accept.present() || !accept.same_address(from)) return false;
    return !strict_source_port_ || accept.port() == from.port();
}

// The packet thread alone writes a latch's state; the control plane only
// opens it again (epoch) and reads what it latched. No lock, no log here.
// A malformed packet never latches: it is taken (to be counted as malformed)
// from the latched source or while the latch is open. Only a well-formed
// packet of the port's own kind latches or counts towards a move.
bool PacketLoop::source_latched(Latch& latch, const Peer& from, bool malformed, bool own_kind,
                                DirectionCounters& counters) noexcept {
    if (from == latch.source) {
        latch.candidate_packets = 0;  // the latched source is still there: a newcomer starts over
        return true;
    }
    if (latch.seen_epoch == 0) return false;  // no remote signalled yet
    if (malformed) return !latch.source.present();
    if (!own_kind) return false;
    if (!latch.source.present()) {
        latch.source = from;
        latch.published.store(from);  // before the count, which tells the control plane to look
        bump_u32(latch.latched);
        bump(counters.latches);
        return true;
    }
    if (!(from == latch.candidate)) {
        latch.candidate = from;
        latch.candidate_packets = 0;
    }
    if (++latch.candidate_packets < latch_move_packets_) return false;
    latch.source = from;
    latch.published.store(from);
    latch.candidate = Peer{};
    latch.candidate_packets = 0;
    bump_u32(latch.moved);
    bump(counters.latch_moves);
    return true;
}

unsigned PacketLoop::on_readable(SocketTag tag) noexcept {
    SessionSlot& slot = slots_[tag.slot];
    const unsigned leg = static_cast<unsigned>(tag.leg);
    const unsigned direction = leg;  // leg a's remote sends the caller stream, leg b's the callee's
    DirectionCounters& counters = counters_.direction[direction];
    TapSink* const tap = tag.socket == rtp_socket ? slot.tap[direction].load() : nullptr;
    // A tap is touched once per packet period, so it is cold: have it fetched
    // while the kernel copies the datagrams.
    if (tap != nullptr) {
        __builtin_prefetch(tap);
        __builtin_prefetch(reinterpret_cast<const char*>(tap) + 64);
    }

    // The kernel rewrote the address length of the messages it filled last time.
    for (unsigned i = 0; i < in_filled_; ++i) in_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
    int received = ::recvmmsg(tag.fd, in_.data(), kBatch, MSG_DONTWAIT, nullptr);
    // A connected socket holds a "port unreachable" from its remote as a
    // pending error, which the next call returns instead of what is queued:
    // the call took the error, so read again (edge-triggered: no second event).
    if (received < 0 && errno == ECONNREFUSED) received = ::recvmmsg(tag.fd, in_.data(), kBatch, MSG_DONTWAIT, nullptr);
    in_filled_ = received > 0 ? static_cast<unsigned>(received) : 1;
    if (received <= 0) return 0;
    const auto count = static_cast<unsigned>(received);
    const std::int64_t arrival_ns = tap != nullptr ? monotonic_ns() : 0;

    LegSlot& here = slot.leg[leg];
    LegSlot& far = slot.leg[leg ^ 1u];
    // The control plane's endpoints, through the packet thread's copies:
    // one load and a compare each while nothing changed (session_slot.hpp).
    here.accept_from[tag.socket].refresh(here.accept_from_seen[tag.socket]);
    const Peer& accept = here.accept_from_seen[tag.socket].value;
    const bool learn = here.learn.load(std::memory_order_relaxed);
    Latch& latch = here.latch[tag.socket];
    if (learn) {
        // A set_remote since the last batch: the next packet latches afresh.
        const std::uint32_t epoch = latch.epoch.load(std::memory_order_acquire);
        if (epoch != latch.seen_epoch) {
            latch.seen_epoch = epoch;
            latch.source = Peer{};
            latch.published.store(Peer{});
            latch.candidate = Peer{};
            latch.candidate_packets = 0;
        }
    }
    far.send_to[tag.socket].refresh(far.send_to_seen[tag.socket]);
    const Peer& send_to = far.send_to_seen[tag.socket].value;
    const Peer* to = &send_to;
    const bool have_destination = send_to.present() && send_to.port() != 0;
    // A connected socket is sent on without an address: the kernel keeps its
    // route instead of looking one up for every datagram.
    bool named = !send_to.connected();
    // A far leg latched on another address than it signalled gets its
    // packets where they come from (NAT, another interface). On the
    // signalled address the SDP's port stays: some endpoints send from one
    // port and receive on another. On hold (no address) nothing is sent.
    // A latch opened again by a set_remote the far leg has had no packet since is stale.
    const Latch& far_latch = far.latch[tag.socket];
    const bool far_latch_current = far.learn.load(std::memory_order_relaxed) &&
                                   far_latch.seen_epoch == far_latch.epoch.load(std::memory_order_acquire);
    if (have_destination && far_latch_current && far_latch.source.present() &&
        !far_latch.source.same_address(send_to)) {
        to = &far_latch.source;
        named = true;
    }
    // The far leg's family: a call may bridge an IPv4 leg and an IPv6 one.
    const socklen_t name_length = have_destination && named ? fill_sockaddr(*to, destination_) : 0;
    sockaddr_in6* const name = name_length != 0 ? &destination_ : nullptr;

    rtp::Kind kinds[kBatch];
    rtp::Header headers[kBatch];
    unsigned outgoing = 0;
    for (unsigned i = 0; i < count; ++i) {
        kinds[i] = rtp::Kind::malformed;
        const std::span<const std::uint8_t> datagram(&buffers_[i * kMaxDatagram], in_[i].msg_len);
        if ((in_[i].msg_hdr.msg_flags & MSG_TRUNC) == 0)
            kinds[i] = tag.socket == rtp_socket ? rtp::classify_rtp_port(datagram, headers[i])
                                                : rtp::classify_rtcp_port(datagram);
        const Peer from = peer_of(from_[i]);
        const bool taken = learn ? source_latched(latch, from, kinds[i] == rtp::Kind::malformed,
                                                  tag.socket == rtp_socket || rtcp_type(datagram), counters)
                                 : source_accepted(accept, from);
        if (!taken) {
            kinds[i] = rtp::Kind::malformed;  // neither relayed nor tapped
            bump(counters.dropped_unexpected_source);
            continue;
        }
        if (kinds[i] == rtp::Kind::malformed) {
            bump(counters.dropped_malformed);
        } else if (!have_destination) {
            bump(counters.dropped_no_destination);
        } else {
            out_iov_[outgoing] = iovec{&buffers_[i * kMaxDatagram], in_[i].msg_len};
            out_[outgoing].msg_hdr.msg_name = name;
            out_[outgoing].msg_hdr.msg_namelen = name_length;
            out_index_[outgoing++] = static_cast<std::uint16_t>(i);
        }
    }

    if (outgoing > 0) {
        const int fd = slot.leg[leg ^ 1u].fd[tag.socket].load(std::memory_order_acquire);
        unsigned done = 0;
        while (done < outgoing) {
            const int sent = ::sendmmsg(fd, &out_[done], outgoing - done, MSG_DONTWAIT);
            if (sent < 0) {
                // ECONNREFUSED: an earlier datagram's "port unreachable",
                // pending on the connected socket; this one was not sent, and
                // the error is gone with this call, so send it again.
                if (errno == EINTR || errno == ECONNREFUSED) continue;
                bump(counters.dropped_send_error);  // this datagram is lost; carry on with the rest
                ++done;
                continue;
            }
            for (unsigned k = done; k < done + static_cast<unsigned>(sent); ++k) {
                if (kinds[out_index_[k]] == rtp::Kind::rtp) {
                    bump(counters.packets_relayed);
                    bump(counters.bytes_relayed, out_iov_[k].iov_len);
                } else {
                    bump(counters.rtcp_relayed);
                }
            }
            done += static_cast<unsigned>(sent);
        }
    }

    if (tap == nullptr) return count;
    for (unsigned i = 0; i < count; ++i) {
        if (kinds[i] != rtp::Kind::rtp) continue;
        const rtp::Header& h = headers[i];
        RtpPacket packet;
        packet.sequence = h.sequence;
        packet.timestamp = h.timestamp;
        packet.ssrc = h.ssrc;
        packet.payload_type = h.payload_type;
        packet.marker = h.marker;
        packet.payload = std::span<const std::uint8_t>(&buffers_[i * kMaxDatagram + h.payload_offset], h.payload_size);
        packet.arrival_ns = arrival_ns;
        tap->on_rtp(static_cast<Direction>(direction), packet);
    }
    return count;
}

}  // namespace voxfork::media
