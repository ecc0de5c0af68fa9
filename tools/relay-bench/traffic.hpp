// relay-bench's traffic generator: the far ends of N calls. One socket plays
// every caller and one every callee (the relay checks the source address, not
// the port, by default), so a tick is a single sendmmsg per side.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include <sys/socket.h>

#include "voxfork/media.hpp"
#include "voxfork/net.hpp"

namespace relay_bench {

struct CallPorts {
    std::uint16_t port_a = 0;  // the relay's leg a RTP port: callers send here
    std::uint16_t port_b = 0;  // leg b: callees send here
};

struct TrafficResult {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::uint64_t out_of_order = 0;
    std::vector<std::uint64_t> latency_us;  // histogram: [µs] -> count
    std::int64_t sender_cpu_ns = 0;
    std::int64_t receiver_cpu_ns = 0;
};

class Traffic {
public:
    // Binds the two sockets on the loopback address of each side's family
    // (127.0.0.1 or ::1), at the given ports (0: any), so a relay in another
    // process can be told where the far ends are. Each side sends to the relay
    // on the loopback address of its own family.
    Traffic(std::uint16_t caller_port = 0, std::uint16_t callee_port = 0,
            voxfork::net::Family caller_family = voxfork::net::Family::v4,
            voxfork::net::Family callee_family = voxfork::net::Family::v4);
    ~Traffic();
    voxfork::net::Endpoint caller_endpoint() const { return caller_; }
    voxfork::net::Endpoint callee_endpoint() const { return callee_; }

    // Plays 20 ms packets (PT 0, 160-byte payload) both ways on every call
    // for `seconds`, then waits `drain_ms` for the last packets. The 20 ms are
    // cut into ticks of `tick_us` and each call sends at its own tick, so the
    // relay sees the calls' packets spread out as from independent phones
    // (a tick is one sendmmsg per side).
    TrafficResult run(const std::vector<CallPorts>& calls, double seconds, int tick_us, int drain_ms);

private:
    void send_loop(const std::vector<CallPorts>& calls, double seconds, std::int64_t tick_ns, TrafficResult& result);
    void receive_loop(std::size_t calls, TrafficResult& result);
    static void record(const mmsghdr& message, const std::uint8_t* data, std::vector<int>& last_sequence,
                       TrafficResult& result);

    int caller_fd_ = -1;
    int callee_fd_ = -1;
    voxfork::net::Endpoint caller_;
    voxfork::net::Endpoint callee_;
    std::atomic<bool> receiving_{false};
};

std::int64_t monotonic_ns();
std::int64_t thread_cpu_ns();

}  // namespace relay_bench
