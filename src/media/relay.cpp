// Relay: the control-plane face of the relay. Sessions live in a preallocated
// slot array; the packet thread (PacketLoop) reads a slot through atomics and
// never takes the control mutex below.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "packet_loop.hpp"
#include "port_pool.hpp"
#include "session_slot.hpp"
#include "voxfork/media.hpp"

namespace voxfork::media {
namespace {

// The relay's address of one family; empty text: none of that family.
std::optional<net::Address> parse_address(const std::string& text, net::Family family) {
    if (text.empty()) return std::nullopt;
    const auto address = net::Address::parse(text);
    if (!address || address->family() != family)
        throw std::invalid_argument(std::string("bind media source-address: not an ") +
                                    (family == net::Family::v6 ? "IPv6" : "IPv4") + " address: " + text);
    return address;
}

// True when a UDP socket binds on the address: it is one of this host's.
// Port 0, so no port of the range is touched.
bool bindable(const net::Address& address) noexcept {
    const int fd = bind_udp(address, 0);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

// A port pair is three sockets (RTP, its connected twin, RTCP), a call two
// pairs; the rest of the daemon (SIP, the speech servers' connections, the
// control socket, the logs) is left this many files besides.
constexpr std::size_t kSocketsPerPair = 3;
constexpr std::size_t kFilesBesidesMedia = 1024;

// Raises the soft open-file limit so that every pair of the range may be
// open at once (as far as the hard limit lets) and says what it allows.
std::optional<Relay::FileRoom> raise_file_limit(std::size_t pairs) noexcept {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
    const rlim_t wanted = static_cast<rlim_t>(pairs * kSocketsPerPair + kFilesBesidesMedia);
    if (limit.rlim_cur < wanted && limit.rlim_cur != RLIM_INFINITY) {
        limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
    const std::size_t files = static_cast<std::size_t>(limit.rlim_cur);
    const std::size_t media_pairs = files > kFilesBesidesMedia ? (files - kFilesBesidesMedia) / kSocketsPerPair : 0;
    return Relay::FileRoom{static_cast<unsigned long>(files), media_pairs / 2, pairs / 2};
}

constexpr unsigned kSlotBits = 16;

class RelayImpl final : public Relay {
public:
    explicit RelayImpl(const RelayOptions& options)
        : pool_(parse_address(options.bind_address, net::Family::v4),
                parse_address(options.bind_address_ipv6, net::Family::v6), options.port_min, options.port_max),
          slots_(std::make_unique<SessionSlot[]>(pool_.total() / 2)),
          slot_count_(pool_.total() / 2),
          loop_(std::span<SessionSlot>(slots_.get(), slot_count_), counters_, options.strict_source_port,
                options.realtime_priority, options.latch_move_packets) {
        free_slots_.reserve(slot_count_);
        for (std::size_t i = slot_count_; i > 0; --i) free_slots_.push_back(static_cast<std::uint16_t>(i - 1));
        file_room_ = raise_file_limit(pool_.total());
    }
    ~RelayImpl() override { stop(); }

    void start() override { loop_.start(); }
    int realtime_priority() const override { return loop_.realtime_priority(); }
    std::optional<FileRoom> file_room() const override { return file_room_; }

    void stop() override {
        loop_.stop();
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < slot_count_; ++i) {
            if (slots_[i].state == SessionSlot::State::free) continue;
            detach(slots_[i]);
            free_slot(static_cast<std::uint16_t>(i));
        }
    }

    std::optional<SessionId> allocate(net::Family leg_a, net::Family leg_b) override {
        std::lock_guard lock(mutex_);
        if (free_slots_.empty() || !pool_.has(leg_a) || !pool_.has(leg_b)) return fail();
        std::uint64_t skipped = 0;
        std::optional<PortPair> a = pool_.take(leg_a, skipped);
        std::optional<PortPair> b = a ? pool_.take(leg_b, skipped) : std::nullopt;
        counters_.ports_skipped_in_use.fetch_add(skipped, std::memory_order_relaxed);
        if (!b) {
            if (a) pool_.give_back(*a);
            return fail();
        }
        const std::uint16_t index = free_slots_.back();
        SessionSlot& slot = slots_[index];
        slot.leg[0].ports = *a;
        slot.leg[1].ports = *b;
        for (unsigned leg = 0; leg < 2; ++leg) {
            LegSlot& l = slot.leg[leg];
            for (unsigned s = 0; s < 2; ++s) {
                l.send_to[s].store(Peer{});
                l.accept_from[s].store(Peer{});
                reset(l.latch[s]);
            }
            l.learn.store(true);
            l.fd[rtp_socket].store(l.ports.rtp_peer_fd);
            l.fd[rtcp_socket].store(l.ports.rtcp_fd);
        }
        slot.tap[0].store(nullptr);
        slot.tap[1].store(nullptr);
        // The slot is complete before its sockets are handed to epoll.
        bool watched = true;
        for (unsigned leg = 0; leg < 2; ++leg) {
            const PortPair& p = slot.leg[leg].ports;
            const auto tag = [&](int fd, Socket s) { return SocketTag{fd, index, static_cast<Leg>(leg), s}; };
            watched = watched && loop_.watch(tag(p.rtp_fd, rtp_socket)) &&
                      loop_.watch(tag(p.rtp_peer_fd, rtp_socket)) && loop_.watch(tag(p.rtcp_fd, rtcp_socket));
        }
        if (!watched) {  // nothing has been read from these sockets yet: no quiesce needed
            detach(slot);
            free_slot(index);  // still in free_slots_: state stayed free
            return fail();
        }
        free_slots_.pop_back();
        slot.state = SessionSlot::State::live;
        ++slot.generation;
        return (SessionId{slot.generation} << kSlotBits) | index;
    }

    std::optional<net::Address> address(net::Family family) const override {
        std::lock_guard lock(mutex_);
        return pool_.address(family);
    }

    bool set_addresses(const std::string& ipv4, const std::string& ipv6, std::string& error) override {
        std::optional<net::Address> v4, v6;
        try {
            v4 = parse_address(ipv4, net::Family::v4);
            v6 = parse_address(ipv6, net::Family::v6);
        } catch (const std::invalid_argument& e) {
            error = e.what();
            return false;
        }
        for (const auto& address : {v4, v6}) {
            if (address && !bindable(*address)) {
                error = "bind media source-address " + address->to_string() + ": not an address of this host";
                return false;
            }
        }
        std::lock_guard lock(mutex_);
        pool_.set_addresses(v4, v6);
        return true;
    }

    std::uint16_t local_rtp_port(SessionId id, Leg leg) const override {
        std::lock_guard lock(mutex_);
        const SessionSlot* slot = find(id);
        return slot != nullptr ? slot->leg[static_cast<unsigned>(leg)].ports.rtp_port : 0;
    }

    bool set_remote(SessionId id, Leg leg, net::Endpoint rtp, net::Endpoint rtcp) override {
        std::lock_guard lock(mutex_);
        SessionSlot* slot = find(id);
        if (slot == nullptr) return false;
        LegSlot& l = slot->leg[static_cast<unsigned>(leg)];
        const Peer rtp_peer = to_peer(rtp);
        Peer rtcp_peer = to_peer(rtcp);
        // The leg's sockets are of one family: a remote of the other can be
        // neither sent to nor received from. Hold (no address) fits either.
        const bool v6 = l.ports.family == net::Family::v6;
        for (const Peer* p : {&rtp_peer, static_cast<const Peer*>(&rtcp_peer)})
            if (p->present() && p->ipv6() != v6) return false;
        // Connected before it is published, so a packet sent without an
        // address after the store goes to the new remote.
        Peer rtp_to = rtp_peer;
        if (connect_peer(l.ports.rtp_peer_fd, rtp)) rtp_to.meta |= Peer::kConnected;
        l.send_to[rtp_socket].store(rtp_to);
        l.send_to[rtcp_socket].store(rtcp_peer);
        // On hold (no address) the leg keeps its last accepted source: a held
        // party may still send (music on hold), it only stops receiving.
        if (rtp_peer.present()) {
            l.accept_from[rtp_socket].store(rtp_peer);
            if (!rtcp_peer.present()) rtcp_peer = to_peer({rtp.address, static_cast<std::uint16_t>(rtp.port + 1)});
        }
        if (rtcp_peer.present()) l.accept_from[rtcp_socket].store(rtcp_peer);
        // An offer or answer that names an address: learn the source again.
        // Hold keeps the latch, as it keeps the accepted source.
        if (rtp_peer.present())
            for (Latch& latch : l.latch) latch.epoch.fetch_add(1, std::memory_order_release);
        return true;
    }

    void set_latching(SessionId id, Leg leg, Latching mode) override {
        std::lock_guard lock(mutex_);
        if (SessionSlot* slot = find(id))
            slot->leg[static_cast<unsigned>(leg)].learn.store(mode == Latching::learn, std::memory_order_relaxed);
    }

    std::vector<LatchChange> take_latch_changes() override {
        std::vector<LatchChange> changes;
        std::lock_guard lock(mutex_);
        for (std::size_t index = 0; index < slot_count_; ++index) {
            SessionSlot& slot = slots_[index];
            if (slot.state != SessionSlot::State::live) continue;
            const SessionId id = (SessionId{slot.generation} << kSlotBits) | static_cast<SessionId>(index);
            for (unsigned leg = 0; leg < 2; ++leg)
                for (unsigned s = 0; s < 2; ++s) {
                    Latch& latch = slot.leg[leg].latch[s];
                    const std::uint32_t latched = latch.latched.load(std::memory_order_acquire);
                    const std::uint32_t moved = latch.moved.load(std::memory_order_acquire);
                    if (latched == latch.reported_latched && moved == latch.reported_moved) continue;
                    const bool was_move = moved != latch.reported_moved;
                    latch.reported_latched = latched;
                    latch.reported_moved = moved;
                    const Peer source = latch.published.load();
                    if (!source.present()) continue;  // opened again since: the next look reports it
                    changes.push_back({id, static_cast<Leg>(leg), s == rtcp_socket, was_move, to_endpoint(source)});
                }
        }
        return changes;
    }

    net::Endpoint latched(SessionId id, Leg leg, bool rtcp) const override {
        std::lock_guard lock(mutex_);
        const SessionSlot* slot = find(id);
        if (slot == nullptr) return {};
        const LegSlot& l = slot->leg[static_cast<unsigned>(leg)];
        if (!l.learn.load(std::memory_order_relaxed)) return {};
        return to_endpoint(l.latch[rtcp ? rtcp_socket : rtp_socket].published.load());
    }

    void release(SessionId id) override {
        std::uint16_t index = 0;
        {
            std::lock_guard lock(mutex_);
            SessionSlot* slot = find(id);
            if (slot == nullptr) return;
            slot->state = SessionSlot::State::releasing;  // other calls with this id are no-ops from now on
            detach(*slot);
            index = static_cast<std::uint16_t>(id & 0xffffu);
        }
        // Outside the mutex, so a tap callback that calls into the relay can't deadlock us.
        loop_.quiesce();
        std::lock_guard lock(mutex_);
        if (slots_[index].state == SessionSlot::State::releasing) free_slot(index);  // unless stop() did
    }

    void set_tap(SessionId id, Direction direction, TapSink* sink) override {
        TapSink* old = nullptr;
        {
            std::lock_guard lock(mutex_);
            SessionSlot* slot = find(id);
            if (slot == nullptr) return;
            old = slot->tap[static_cast<unsigned>(direction)].exchange(sink);
        }
        if (old != nullptr && old != sink) loop_.quiesce();
    }

    const RelayCounters& counters() const override { return counters_; }

    std::size_t ports_free() const override {
        std::lock_guard lock(mutex_);
        return pool_.free();
    }
    std::size_t ports_total() const override { return pool_.total(); }

private:
    std::nullopt_t fail() {
        counters_.allocation_failures.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
    }

    // Before the slot's sockets are watched: the packet thread can't see it.
    static void reset(Latch& latch) noexcept {
        latch.epoch.store(0);
        latch.published.store(Peer{});
        latch.latched.store(0);
        latch.moved.store(0);
        latch.source = Peer{};
        latch.seen_epoch = 0;
        latch.candidate = Peer{};
        latch.candidate_packets = 0;
        latch.reported_latched = 0;
        latch.reported_moved = 0;
    }

    // Points the leg's sending socket at its remote. False when there is no
    // remote (hold) or the kernel refused (the packet thread then names the
    // address on every send, as for RTCP).
    static bool connect_peer(int fd, const net::Endpoint& remote) noexcept {
        if (remote.address.is_unspecified() || remote.port == 0) return false;
        sockaddr_storage to{};
        const socklen_t length = remote.to_sockaddr(to);
        return ::connect(fd, reinterpret_cast<const sockaddr*>(&to), length) == 0;
    }

    SessionSlot* find(SessionId id) {
        const std::size_t index = id & 0xffffu;
        if (index >= slot_count_) return nullptr;
        SessionSlot& slot = slots_[index];
        const bool live = slot.state == SessionSlot::State::live && slot.generation == (id >> kSlotBits);
        return live ? &slot : nullptr;
    }
    const SessionSlot* find(SessionId id) const { return const_cast<RelayImpl*>(this)->find(id); }

    // Stops the packet thread from finding the slot: taps cleared, sockets out
    // of epoll. Events it already fetched are handled until loop_.quiesce().
    void detach(SessionSlot& slot) {
        slot.tap[0].store(nullptr);
        slot.tap[1].store(nullptr);
        for (LegSlot& l : slot.leg)
            for (int fd : {l.ports.rtp_fd, l.ports.rtp_peer_fd, l.ports.rtcp_fd}) loop_.unwatch(fd);
    }

    // The packet thread no longer uses the slot: close its sockets.
    void free_slot(std::uint16_t index) {
        SessionSlot& slot = slots_[index];
        for (LegSlot& l : slot.leg) {
            l.fd[rtp_socket].store(-1);
            l.fd[rtcp_socket].store(-1);
            pool_.give_back(l.ports);
        }
        if (slot.state != SessionSlot::State::free) free_slots_.push_back(index);
        slot.state = SessionSlot::State::free;
    }

    mutable std::mutex mutex_;  // control plane only (SIP and fork threads); never on the packet path
    PortPool pool_;
    std::unique_ptr<SessionSlot[]> slots_;
    std::size_t slot_count_;
    std::vector<std::uint16_t> free_slots_;
    RelayCounters counters_;
    PacketLoop loop_;
    std::optional<FileRoom> file_room_;  // set once, at construction
};

}  // namespace

std::unique_ptr<Relay> Relay::create(const RelayOptions& options) {
    return std::make_unique<RelayImpl>(options);
}

}  // namespace voxfork::media
