// A started Relay on a random loopback range, and a call wired to four peers.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "udp_peer.hpp"

namespace voxfork::media::test {

// An RTP packet whose sequence number, timestamp and payload follow `seq`.
inline Bytes numbered(std::uint16_t seq) {
    RtpFields f;
    f.sequence = seq;
    f.timestamp = 160u * seq;
    return rtp_packet(f, payload_of(static_cast<std::uint8_t>(seq)));
}

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

    // Both legs take only their signalled address (Latching::strict).
    Call connect_strict(const UdpPeer& caller, const UdpPeer& callee, const UdpPeer* caller_rtcp = nullptr,
                        const UdpPeer* callee_rtcp = nullptr) {
        const Call call = connect(caller, callee, caller_rtcp, callee_rtcp);
        relay->set_latching(call.id, Leg::a, Latching::strict);
        relay->set_latching(call.id, Leg::b, Latching::strict);
        return call;
    }

    const DirectionCounters& caller_counters() const { return relay->counters().direction[0]; }
    const DirectionCounters& callee_counters() const { return relay->counters().direction[1]; }

    std::unique_ptr<Relay> relay;
};

}  // namespace voxfork::media::test
