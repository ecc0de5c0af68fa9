// A started Relay on a random loopback range, and a call wired to four peers.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "udp_peer.hpp"

namespace voxfork::media::test {

struct Call {
    SessionId id = 0;
    std::uint16_t port_a = 0;  // our RTP port on leg a (the caller sends here)
    std::uint16_t port_b = 0;  // ... on leg b (the callee sends here)
};

class RelayTest : public ::testing::Test {
protected:
    void SetUp() override { make_relay(random_range(64)); }

    void make_relay(const RelayOptions& options) {
        relay.reset();
        relay = Relay::create(options);
        relay->start();
    }

    // A call whose two remotes are known: leg a's is `caller`, leg b's `callee`.
    Call connect(const UdpPeer& caller, const UdpPeer& callee, const UdpPeer* caller_rtcp = nullptr,
                 const UdpPeer* callee_rtcp = nullptr) {
        Call call;
        auto id = relay->allocate();
        EXPECT_TRUE(id.has_value());
        if (!id) return call;
        call.id = *id;
        call.port_a = relay->local_rtp_port(call.id, Leg::a);
        call.port_b = relay->local_rtp_port(call.id, Leg::b);
        relay->set_remote(call.id, Leg::a, caller.endpoint(), caller_rtcp ? caller_rtcp->endpoint() : Endpoint{});
        relay->set_remote(call.id, Leg::b, callee.endpoint(), callee_rtcp ? callee_rtcp->endpoint() : Endpoint{});
        return call;
    }

    const DirectionCounters& caller_counters() const { return relay->counters().direction[0]; }
    const DirectionCounters& callee_counters() const { return relay->counters().direction[1]; }

    std::unique_ptr<Relay> relay;
};

}  // namespace voxfork::media::test
