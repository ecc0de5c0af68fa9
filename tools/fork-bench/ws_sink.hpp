// The speech server's side: a plain ws:// server on 127.0.0.1 that takes
// voxforkd's forked frames on its own thread, in the profile's protocol, and
// counts per channel frames and gaps (frames voxforkd dropped), and times each
// frame from the send stamp in its payload:
// - voxfork-v1 (subprotocol voxfork.v1): gaps in each channel's seq;
// - raw, separate layout: a connection per channel, frames the RTP payloads;
// - raw, interleaved layout: a connection per call, frames interleave the two
//   channels;
// - audiohook: answers open/ping/close, frames interleave the two channels.
// For raw and AudioHook, which carry no seq, a gap is a jump in the packet
// number of the stamps (a stream's frames that start with one; the clock's
// silence fill carries none).
#pragma once

#include "common.hpp"

#include <cstdint>
#include <memory>

namespace forkbench {

struct SinkCounts {
    std::uint64_t connections = 0, starts = 0, stops = 0, channels = 0;
    std::uint64_t frames = 0, window_frames = 0, dropped = 0;  // dropped: seq gaps
};

enum class Protocol { voxfork_v1, raw, raw_interleaved, audiohook };

class WsSink {
public:
    WsSink(Receivers receivers, Protocol protocol);
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
