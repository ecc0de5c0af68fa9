// The kernel's share: what the simplest possible forwarder (blocking recv on
// one socket, send on another connected to the sink, no epoll, no checks)
// pays per packet on this machine's loopback. The relay's figure is read
// against it.
#pragma once

namespace relay_bench {

// CPU µs per forwarded packet of the minimal forwarder, at ~100,000 packets/s.
double kernel_floor_us(unsigned packets);

}  // namespace relay_bench
