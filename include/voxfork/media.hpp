// The RTP relay: one RTP/RTCP port pair per call leg, anchored media relayed
// between the two legs of a call, and a per-direction tap for forking.
//
// Threads: the relay runs its own packet thread. Every method below is called
// from the control-plane thread; the relay makes the change visible to its
// packet thread without a lock on the packet path. TapSink callbacks run on
// the packet thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "voxfork/net.hpp"

namespace voxfork::media {

using SessionId = std::uint32_t;

// Leg a is the call's inbound (anchor) leg, leg b the outbound one.
enum class Leg : std::uint8_t { a = 0, b = 1 };
// The caller stream is what leg a's remote sends; the callee stream what leg b's sends.
enum class Direction : std::uint8_t { caller = 0, callee = 1 };

// Where a leg's packets are taken from and sent to (docs/media.md, "Latching").
// learn: the source of the first packet after each set_remote, moving to a new
// source only after RelayOptions::latch_move_packets packets in a row from it;
// strict: only the signalled address.
enum class Latching : std::uint8_t { learn, strict };

// A leg's remote found sending from a new place, for the control plane's log.
struct LatchChange {
    SessionId session = 0;
    Leg leg = Leg::a;
    bool rtcp = false;
    bool moved = false;  // from an earlier latched source (else: the first after an offer/answer)
    net::Endpoint source;  // where its packets come from, and go to, from now on
};

// One RTP packet as the tap sees it. `payload` is valid only during the call.
struct RtpPacket {
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::uint8_t payload_type = 0;
    bool marker = false;
    std::span<const std::uint8_t> payload;
    std::int64_t arrival_ns = 0;  // CLOCK_MONOTONIC at receive
};

// Receives every RTP packet of one direction of one call, after it was
// forwarded. Runs on the packet thread: no blocking, no allocation.
class TapSink {
public:
    virtual ~TapSink() = default;
    virtual void on_rtp(Direction direction, const RtpPacket& packet) noexcept = 0;
};

// Relay counters, per direction; read from any thread.
struct DirectionCounters {
    std::atomic<std::uint64_t> packets_relayed{0};
    std::atomic<std::uint64_t> bytes_relayed{0};
    std::atomic<std::uint64_t> rtcp_relayed{0};
    std::atomic<std::uint64_t> dropped_unexpected_source{0};
    std::atomic<std::uint64_t> dropped_malformed{0};
    std::atomic<std::uint64_t> dropped_no_destination{0};  // far leg's remote unknown or on hold
    std::atomic<std::uint64_t> dropped_send_error{0};
    std::atomic<std::uint64_t> latches{0};      // a source learned after an offer/answer
    std::atomic<std::uint64_t> latch_moves{0};  // a latched source replaced by another
};

struct RelayCounters {
    DirectionCounters direction[2];  // indexed by Direction
    std::atomic<std::uint64_t> ports_skipped_in_use{0};
    std::atomic<std::uint64_t> allocation_failures{0};
};

struct RelayOptions {
    // Where legs of each family bind their ports (`bind media source-address`,
    // one per family); empty: the relay has no leg of that family.
    std::string bind_address = "127.0.0.1";  // IPv4
    std::string bind_address_ipv6;           // IPv6
    std::uint16_t port_min = 16384;  // even
    std::uint16_t port_max = 32767;
    // Source check on received packets: by default a leg accepts packets from
    // its signalled address, any port; true also requires the signalled port.
    bool strict_source_port = false;
    // 1..99: the packet thread asks for SCHED_FIFO at this priority (needs
    // CAP_SYS_NICE; refused silently otherwise), so a busy host can't starve
    // the media. 0: ordinary scheduling.
    int realtime_priority = 0;
    // Latching::learn: packets in a row a new source must send before a
    // latched leg moves to it (fewer are dropped as from a stranger).
    unsigned latch_move_packets = 10;
};

class Relay {
public:
    static std::unique_ptr<Relay> create(const RelayOptions& options);
    virtual ~Relay() = default;

    virtual void start() = 0;  // starts the packet thread
    // The SCHED_FIFO priority the packet thread got (RelayOptions::
    // realtime_priority), 0 when it runs at ordinary priority: asked for
    // none, or refused (no CAP_SYS_NICE, RLIMIT_RTPRIO too low). Known once
    // start() returned.
    virtual int realtime_priority() const { return 0; }
    virtual void stop() = 0;   // joins it; every session is released

    // How many calls the process's open-file limit leaves room for, once the
    // relay raised it as far as the hard limit lets, against how many the
    // rtp-port range holds. nullopt when the limit is no bound.
    struct FileRoom {
        unsigned long open_file_limit = 0;
        std::size_t calls = 0;        // whose sockets fit under the limit
        std::size_t range_calls = 0;  // the range's port pairs, two a call
    };
    virtual std::optional<FileRoom> file_room() const { return std::nullopt; }

    // Two port pairs (one per leg) from the range, each bound on the relay's
    // address of that leg's family (a call may bridge an IPv4 leg and an IPv6
    // one); ports another program holds are skipped. nullopt when the range
    // is exhausted or the relay has no address of a family asked for.
    virtual std::optional<SessionId> allocate(net::Family leg_a, net::Family leg_b) = 0;
    std::optional<SessionId> allocate() { return allocate(net::Family::v4, net::Family::v4); }
    // The address legs of that family bind on (and their SDP names); nullopt
    // when the relay has none of that family.
    virtual std::optional<net::Address> address(net::Family family) const = 0;
    // A reload's `bind media source-address`es (RelayOptions' forms; empty:
    // none of that family): legs allocated from now on bind there, legs up
    // keep their sockets. False with `error`, and nothing changed, when an
    // address is not one of this host's (it could bind no leg).
    virtual bool set_addresses(const std::string& ipv4, const std::string& ipv6, std::string& error) = 0;
    virtual std::uint16_t local_rtp_port(SessionId, Leg) const = 0;  // RTCP is +1
    // Where a leg's remote wants its RTP (and RTCP, usually port+1). An
    // unspecified address (hold: c=IN IP4 0.0.0.0, c=IN IP6 ::) of either
    // family stops sending to that leg. False, and nothing changed, when the
    // remote is of the other family than the leg's ports.
    virtual bool set_remote(SessionId, Leg, net::Endpoint rtp, net::Endpoint rtcp) = 0;
    // Ports go back to the pool; a tap attached to the session is detached.
    virtual void release(SessionId) = 0;
    // How the leg takes its remote's source; a new session's legs learn.
    virtual void set_latching(SessionId, Leg, Latching) {}
    // The latches and moves since the last call (never from the packet thread).
    virtual std::vector<LatchChange> take_latch_changes() { return {}; }
    // Where the leg's RTP (or RTCP) is latched now; an empty endpoint
    // (0.0.0.0:0) when it is not.
    virtual net::Endpoint latched(SessionId, Leg, bool /*rtcp*/) const { return {}; }
    // Attaches (or with nullptr detaches) the tap of one direction. After a
    // detach returns, the packet thread no longer calls the old sink.
    virtual void set_tap(SessionId, Direction, TapSink* sink) = 0;

    virtual const RelayCounters& counters() const = 0;
    virtual std::size_t ports_free() const = 0;  // port pairs left in the pool
    virtual std::size_t ports_total() const = 0;
};

}  // namespace voxfork::media
