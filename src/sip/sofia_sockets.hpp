// What sofia-sip's public API does not give the stack adapter: the
// descriptors sofia opened (its event loop's epoll descriptor, its SIP
// sockets), found among the process's own, and what the kernel says of them.
#pragma once

#include <optional>
#include <set>

#include <sofia-sip/su_wait.h>

#include "voxfork/net.hpp"

namespace voxfork::sip {

// The process's epoll descriptors now.
std::set<int> epoll_descriptors();
// Whether `fd` has something to read (a poll that does not wait).
bool readable(int fd);
// Among the epoll descriptors that appeared with `root`, the one that wakes
// when a descriptor registered with the root becomes readable; -1 if none.
int find_root_descriptor(su_root_t* root, const std::set<int>& candidates);
// One of sofia's sockets: the UDP one bound at `local`, or the TCP
// connection from `peer` to `local`. -1 when none.
int find_socket(const net::Endpoint& local, const std::optional<net::Endpoint>& peer);
// The receive buffer the kernel gave the UDP socket bound to `port` (0: none found).
int udp_receive_buffer(unsigned port);
// How full the receive queue of socket `fd` is, 0-1 (0 when it cannot be read).
double receive_queue_fill(int fd);

}  // namespace voxfork::sip
