// The RTP of every call, both ways: one UDP socket plays all callers and one
// all callees (voxforkd's relay checks the source address, not the port). Each
// stream sends 20 ms PCMU packets at its own 1 ms tick of the 20 ms period, a
// send stamp at the head of the payload; the receive side counts and times what
// the relay delivered.
#pragma once

#include "common.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace forkbench {

enum Side : std::uint32_t { caller_side = 0, callee_side = 1 };

struct MediaCounts {
    std::uint64_t sent[2] = {0, 0};      // by the side that sent
    std::uint64_t received[2] = {0, 0};  // by the side that received
};

class Media {
public:
    Media(unsigned streams_per_side, Receivers receivers);
    ~Media();
    std::uint16_t port(Side side) const { return ports_[side]; }
    // Starts (port != 0) or stops (0) the stream of `index` on `side` sending to
    // voxforkd's relay port.
    void set_destination(Side side, unsigned index, std::uint16_t port);
    void start();
    void stop_sending();
    void stop();
    // Latency and the window's packet counts are taken only while measuring.
    void measure(bool on) { measuring_.store(on, std::memory_order_relaxed); }
    MediaCounts totals() const;
    MediaCounts window() const;
    const Histogram& latency() const { return *latency_; }  // after stop()

private:
    void send_loop();
    void receive_loop();

    unsigned streams_;
    Receivers receivers_;
    int fds_[2] = {-1, -1};
    std::uint16_t ports_[2] = {0, 0};
    std::vector<std::atomic<std::uint16_t>> dest_[2];
    std::atomic<bool> sending_{false}, running_{false}, measuring_{false};
    std::atomic<std::uint64_t> sent_[2], received_[2], window_received_[2];
    std::unique_ptr<Histogram> latency_;
    std::thread sender_, receiver_;
};

}  // namespace forkbench
