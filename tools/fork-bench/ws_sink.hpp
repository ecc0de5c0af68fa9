// The speech server's side: a plain ws:// server (subprotocol voxfork.v1) on
// 127.0.0.1 that takes voxforkd's forked frames on its own thread and counts,
// per channel, frames and gaps in seq (frames voxforkd dropped), and times each
// frame from the send stamp in its payload.
#pragma once

#include "common.hpp"

#include <cstdint>
#include <memory>

namespace forkbench {

struct SinkCounts {
    std::uint64_t connections = 0, starts = 0, stops = 0, channels = 0;
    std::uint64_t frames = 0, window_frames = 0, dropped = 0;  // dropped: seq gaps
};

class WsSink {
public:
    explicit WsSink(Receivers receivers);
    ~WsSink();
    std::uint16_t port() const;
    void measure(bool on);
    SinkCounts counts() const;
    const Histogram& latency() const;  // after stop()
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace forkbench
