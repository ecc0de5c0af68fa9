// The relay with real UDP sockets on 127.0.0.1: forwarding, RTCP, source
// checks, malformed packets, hold and re-INVITE.
#include <sched.h>

#include <filesystem>
#include <fstream>

#include "relay_fixture.hpp"

namespace voxfork::media::test {
namespace {

using namespace std::chrono_literals;

void expect_stream(const UdpPeer& from, std::uint16_t to_port, const UdpPeer& at, std::uint16_t relay_port, int count) {
    std::vector<Bytes> sent;
    for (int i = 0; i < count; ++i) {
        sent.push_back(numbered(static_cast<std::uint16_t>(i)));
        from.send_to(to_port, sent.back());
    }
    for (int i = 0; i < count; ++i) {
        auto d = at.receive();
        ASSERT_TRUE(d.has_value()) << "packet " << i << " missing";
        EXPECT_EQ(d->data, sent[static_cast<std::size_t>(i)]) << "packet " << i;
        EXPECT_EQ(d->from_port, relay_port);
        EXPECT_EQ(d->from_address, at.endpoint().address.is_v6() ? loopback6() : loopback());
    }
}

TEST_F(RelayTest, RelaysRtpBothWaysByteExactAndInOrder) {
    UdpPeer caller, callee;
    const Call call = connect(caller, callee);
    ASSERT_NE(call.port_a, 0);
    ASSERT_NE(call.port_b, 0);
    EXPECT_EQ(call.port_a % 2, 0);
    EXPECT_EQ(call.port_b % 2, 0);
    EXPECT_NE(call.port_a, call.port_b);

    expect_stream(caller, call.port_a, callee, call.port_b, 100);
    expect_stream(callee, call.port_b, caller, call.port_a, 100);

    const std::uint64_t bytes = 100u * (12 + 160);
    EXPECT_TRUE(eventually([&] { return value(caller_counters().packets_relayed) == 100; }));
    EXPECT_TRUE(eventually([&] { return value(callee_counters().packets_relayed) == 100; }));
    EXPECT_EQ(value(caller_counters().bytes_relayed), bytes);
    EXPECT_EQ(value(callee_counters().bytes_relayed), bytes);
    EXPECT_EQ(value(caller_counters().dropped_malformed), 0u);
}

TEST_F(RelayTest, RelaysRtcpOnTheNextPort) {
    UdpPeer caller, callee, caller_rtcp, callee_rtcp;
    const Call call = connect(caller, callee, &caller_rtcp, &callee_rtcp);
    const Bytes rr{0x81, 201, 0,  7,  0x11, 0x22, 0x33, 0x44, 1,  2,  3,  4,  5,  6,  7,  8,
                   9,    10,  11, 12, 13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24};
    caller_rtcp.send_to(static_cast<std::uint16_t>(call.port_a + 1), rr);
    auto d = callee_rtcp.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, rr);
    EXPECT_EQ(d->from_port, call.port_b + 1);

    callee_rtcp.send_to(static_cast<std::uint16_t>(call.port_b + 1), rr);
    d = caller_rtcp.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->from_port, call.port_a + 1);

    EXPECT_TRUE(callee.silent(50ms));  // RTCP never leaks onto the RTP port
    EXPECT_TRUE(eventually([&] { return value(caller_counters().rtcp_relayed) == 1; }));
    EXPECT_TRUE(eventually([&] { return value(callee_counters().rtcp_relayed) == 1; }));
    EXPECT_EQ(value(caller_counters().packets_relayed), 0u);
}

TEST_F(RelayTest, NothingIsAcceptedBeforeTheRemoteIsKnown) {
    UdpPeer caller, callee;
    const auto id = relay->allocate();
    ASSERT_TRUE(id);
    const std::uint16_t port_b = relay->local_rtp_port(*id, Leg::b);
    relay->set_remote(*id, Leg::a, caller.endpoint(), {});
    callee.send_to(port_b, numbered(1));  // leg b's remote isn't signalled yet
    EXPECT_TRUE(caller.silent());
    EXPECT_TRUE(eventually([&] { return value(callee_counters().dropped_unexpected_source) == 1; }));
}

TEST_F(RelayTest, UnexpectedSourceIsDroppedAndCounted) {
    UdpPeer caller, callee;
    UdpPeer stranger(loopback(2));  // 127.0.0.2: another host as far as the relay can tell
    const Call call = connect_strict(caller, callee);
    stranger.send_to(call.port_a, numbered(1));
    stranger.send_to(static_cast<std::uint16_t>(call.port_a + 1), Bytes{0x80, 201, 0, 1, 1, 2, 3, 4});
    EXPECT_TRUE(callee.silent());
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_unexpected_source) == 2; }));

    caller.send_to(call.port_a, numbered(2));  // the call itself is unharmed
    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(2));
}

TEST_F(RelayTest, OtherPortOfTheSignalledAddressIsAcceptedByDefault) {
    UdpPeer caller, callee, caller_second_socket;
    const Call call = connect_strict(caller, callee);
    caller_second_socket.send_to(call.port_a, numbered(5));
    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(5));
}

TEST_F(RelayTest, StrictSourcePortDropsOtherPorts) {
    RelayOptions options = random_range(16);
    options.strict_source_port = true;
    make_relay(options);
    UdpPeer caller, callee, caller_second_socket;
    const Call call = connect_strict(caller, callee);
    caller_second_socket.send_to(call.port_a, numbered(5));
    EXPECT_TRUE(callee.silent());
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_unexpected_source) == 1; }));
    caller.send_to(call.port_a, numbered(6));
    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(6));
}

TEST_F(RelayTest, MalformedPacketsAreDroppedAndCounted) {
    UdpPeer caller, callee, caller_rtcp, callee_rtcp;
    const Call call = connect(caller, callee, &caller_rtcp, &callee_rtcp);
    Bytes version1 = numbered(1);
    version1[0] = 0x40;
    Bytes too_many_csrcs = Bytes{0x8f, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 9};
    Bytes huge_padding = numbered(2);
    huge_padding[0] |= 0x20;
    huge_padding.back() = 250;
    caller.send_to(call.port_a, Bytes{0x80, 0, 0});
    caller.send_to(call.port_a, version1);
    caller.send_to(call.port_a, too_many_csrcs);
    caller.send_to(call.port_a, huge_padding);
    caller.send_to(call.port_a, Bytes(3000, 0x80));  // longer than any RTP packet the relay takes
    caller_rtcp.send_to(static_cast<std::uint16_t>(call.port_a + 1), Bytes{0x80, 201});
    caller.send_to(call.port_a, numbered(3));

    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(3));  // the only one that passed
    EXPECT_TRUE(callee.silent(50ms));
    EXPECT_TRUE(callee_rtcp.silent(50ms));
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_malformed) == 6; }));
    EXPECT_EQ(value(caller_counters().packets_relayed), 1u);
}

TEST_F(RelayTest, HoldStopsSendingToTheHeldLegOnly) {
    UdpPeer caller, callee;
    const Call call = connect(caller, callee);
    relay->set_remote(call.id, Leg::b, Endpoint{net::Address{}, callee.port()}, Endpoint{});  // callee answered c=0.0.0.0

    caller.send_to(call.port_a, numbered(1));
    EXPECT_TRUE(callee.silent());
    EXPECT_TRUE(eventually([&] { return value(caller_counters().dropped_no_destination) == 1; }));

    callee.send_to(call.port_b, numbered(2));  // the held party may still send (music on hold)
    auto d = caller.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(2));

    relay->set_remote(call.id, Leg::b, callee.endpoint(), Endpoint{});  // resumed
    caller.send_to(call.port_a, numbered(3));
    d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(3));
}

// The sending socket stays connected to the old remote through a hold; the
// resume must point it at the new one.
TEST_F(RelayTest, ResumeToAnotherAddressMovesTheStream) {
    UdpPeer caller, callee, moved_callee;
    const Call call = connect(caller, callee);
    expect_stream(caller, call.port_a, callee, call.port_b, 2);
    relay->set_remote(call.id, Leg::b, Endpoint{net::Address{}, callee.port()}, Endpoint{});  // hold
    relay->set_remote(call.id, Leg::b, moved_callee.endpoint(), Endpoint{});     // resumed elsewhere
    expect_stream(caller, call.port_a, moved_callee, call.port_b, 3);
    EXPECT_TRUE(callee.silent(50ms));
    expect_stream(moved_callee, call.port_b, caller, call.port_a, 3);
}

// A remote whose port is closed answers each datagram with "port unreachable",
// which the connected sending socket holds as an error that fails its next
// send. The relay sends that datagram again: every packet goes out, none is
// counted as a send error. A burst makes the relay send several datagrams in
// one call, where the error shows; whether a burst lands in one batch is up
// to the scheduler, so without the retry this fails in most runs, not all.
TEST_F(RelayTest, RemoteWithAClosedPortCostsNoSendErrors) {
    UdpPeer caller;
    auto callee = std::make_unique<UdpPeer>();
    const Call call = connect(caller, *callee);
    callee.reset();  // the port is closed now
    constexpr std::uint64_t bursts = 5, burst = 64;
    for (std::uint64_t b = 0; b < bursts; ++b) {
        for (std::uint64_t i = 0; i < burst; ++i) caller.send_to(call.port_a, numbered(static_cast<std::uint16_t>(i)));
        ASSERT_TRUE(eventually([&] {
            return value(caller_counters().packets_relayed) + value(caller_counters().dropped_send_error) ==
                   (b + 1) * burst;
        })) << "burst "
            << b;
    }
    EXPECT_EQ(value(caller_counters().dropped_send_error), 0u);
    EXPECT_EQ(value(caller_counters().packets_relayed), bursts * burst);
}

TEST_F(RelayTest, RemoteChangeMovesTheStream) {
    RelayOptions options = random_range(16);
    options.strict_source_port = true;  // so the old source is refused as well
    make_relay(options);
    UdpPeer caller, callee, moved_callee;
    const Call call = connect_strict(caller, callee);
    expect_stream(caller, call.port_a, callee, call.port_b, 3);

    relay->set_remote(call.id, Leg::b, moved_callee.endpoint(), Endpoint{});  // re-INVITE answer
    caller.send_to(call.port_a, numbered(10));
    auto d = moved_callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(10));
    EXPECT_TRUE(callee.silent(50ms));

    moved_callee.send_to(call.port_b, numbered(11));
    d = caller.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(11));
    callee.send_to(call.port_b, numbered(12));
    EXPECT_TRUE(caller.silent());
    EXPECT_TRUE(eventually([&] { return value(callee_counters().dropped_unexpected_source) == 1; }));
}

TEST_F(RelayTest, CallsDoNotMix) {
    UdpPeer caller1, callee1, caller2, callee2;
    const Call one = connect(caller1, callee1);
    const Call two = connect(caller2, callee2);
    caller1.send_to(one.port_a, numbered(1));
    caller2.send_to(two.port_a, numbered(2));
    auto d1 = callee1.receive();
    auto d2 = callee2.receive();
    ASSERT_TRUE(d1 && d2);
    EXPECT_EQ(d1->data, numbered(1));
    EXPECT_EQ(d2->data, numbered(2));
    EXPECT_EQ(d1->from_port, one.port_b);
    EXPECT_EQ(d2->from_port, two.port_b);
}

TEST_F(RelayTest, ReleasedCallIsNotRelayedAndItsIdIsDead) {
    UdpPeer caller, callee;
    const Call call = connect(caller, callee);
    relay->release(call.id);
    caller.send_to(call.port_a, numbered(1));
    EXPECT_TRUE(callee.silent());
    EXPECT_EQ(relay->local_rtp_port(call.id, Leg::a), 0);
    relay->release(call.id);  // twice is harmless
    relay->set_remote(call.id, Leg::a, caller.endpoint(), {});
    relay->set_tap(call.id, Direction::caller, nullptr);
    // The slot comes back under a new id; the old one stays dead.
    const auto again = relay->allocate();
    ASSERT_TRUE(again);
    EXPECT_NE(*again, call.id);
    EXPECT_EQ(relay->local_rtp_port(call.id, Leg::a), 0);
    EXPECT_NE(relay->local_rtp_port(*again, Leg::a), 0);
}

// The packet thread of this process, found by its name.
std::optional<pid_t> packet_thread() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream comm(task.path() / "comm");
            std::string name;
            if (std::getline(comm, name) && name == "vf-rtp-relay") return std::stoi(task.path().filename());
        }
        std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
}

TEST(RelayOptionsTest, RealtimePriorityIsAskedForAndRelayingWorks) {
    if (::geteuid() != 0) GTEST_SKIP() << "SCHED_FIFO needs CAP_SYS_NICE";
    RelayOptions options = random_range(8);
    options.realtime_priority = 5;
    auto relay = Relay::create(options);
    relay->start();
    const auto tid = packet_thread();
    ASSERT_TRUE(tid.has_value());
    EXPECT_EQ(::sched_getscheduler(*tid), SCHED_FIFO);
    UdpPeer caller, callee;
    const auto id = relay->allocate();
    ASSERT_TRUE(id);
    relay->set_remote(*id, Leg::a, caller.endpoint(), {});
    relay->set_remote(*id, Leg::b, callee.endpoint(), {});
    caller.send_to(relay->local_rtp_port(*id, Leg::a), numbered(1));
    auto d = callee.receive();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->data, numbered(1));
}

TEST(RelayOptionsTest, InvalidOptionsAreRefused) {
    RelayOptions odd;
    odd.port_min = 20001;
    EXPECT_THROW(Relay::create(odd), std::invalid_argument);
    RelayOptions empty;
    empty.port_min = 20000;
    empty.port_max = 20000;
    EXPECT_THROW(Relay::create(empty), std::invalid_argument);
    RelayOptions address;
    address.bind_address = "not-an-address";
    EXPECT_THROW(Relay::create(address), std::invalid_argument);
}

}  // namespace
}  // namespace voxfork::media::test
