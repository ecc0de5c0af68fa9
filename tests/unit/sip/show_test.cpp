#include <gtest/gtest.h>

#include <regex>

#include "fakes.hpp"
#include "sip/show.hpp"

namespace voxfork::sip::test {
namespace {

TEST(Show, CallsInTheOperationsLayout) {
    std::vector<LegRow> rows = {
        {58, 59, 900, "127.0.0.1:6000", "g711ulaw", "active", "active"},
        {59, 58, 901, "127.0.0.1:6002", "g711ulaw", "active", "active"},
    };
    auto out = show_calls(rows);
    EXPECT_EQ(out.text,
              "Callid  Peer-leg  Dial-peer  Remote            Codec     State   Fork\n"
              "58      59        900        127.0.0.1:6000    g711ulaw  active  active\n"
              "59      58        901        127.0.0.1:6002    g711ulaw  active  active\n"
              "Total calls: 1\n");
    EXPECT_EQ(out.data["total_calls"], 1);
    EXPECT_EQ(out.data["calls"][1]["dial_peer"], 901);
}

TEST(Show, CallDetailsShowEachLegsSignalledAndLatchedMedia) {
    LegRow a{58, 59, 900, "127.0.0.1:5062", "g711ulaw", "active", "none"};
    a.anchor = 58;
    a.relay_port = 20000;
    a.rtp_signalled = {net::Address::v4(0x7f000002u), 6000};
    a.rtcp_signalled = {net::Address::v4(0x7f000002u), 6001};
    a.rtp_latched = {net::Address::v4(0x7f000001u), 6000};
    a.latches = 1;
    LegRow b{59, 58, 901, "127.0.0.1:7052", "g711ulaw", "active", "none"};
    b.anchor = 58;
    b.relay_port = 20002;
    b.latching = config::RtpLatching::strict;
    b.rtp_signalled = {net::Address::v4(0x7f000001u), 7000};
    auto out = show_call_details({a, b});
    EXPECT_EQ(out.text,
              "Call 58\n"
              " Callid 58 (inbound), dial-peer 900, SIP 127.0.0.1:5062, codec g711ulaw, state active\n"
              "  Relay RTP port: 20000\n"
              "  RTP latching: learn\n"
              "  RTP signalled: 127.0.0.2:6000, latched: 127.0.0.1:6000\n"
              "  RTCP signalled: 127.0.0.2:6001, latched: -\n"
              "  Latches: 1, moves: 0\n"
              " Callid 59 (outbound), dial-peer 901, SIP 127.0.0.1:7052, codec g711ulaw, state active\n"
              "  Relay RTP port: 20002\n"
              "  RTP latching: strict\n"
              "  RTP signalled: 127.0.0.1:7000, latched: -\n"
              "  RTCP signalled: -, latched: -\n"
              "  Latches: 0, moves: 0\n"
              "Total calls: 1\n");
    EXPECT_EQ(out.data["calls"][0]["legs"][0]["rtp_latched"], "127.0.0.1:6000");
    EXPECT_EQ(out.data["calls"][0]["legs"][1]["rtp_latching"], "strict");
}

TEST(Show, Ipv6EndpointsAreBracketedWithTheirPort) {
    LegRow a{60, 61, 900, "[::1]:5062", "g711ulaw", "active", "none"};
    a.anchor = 60;
    a.rtp_signalled = {*net::Address::parse("2001:db8::7"), 6000};
    a.rtp_latched = {*net::Address::parse("::1"), 6002};
    LegRow b{61, 60, 901, "127.0.0.1:7052", "g711ulaw", "active", "none"};
    b.anchor = 60;
    b.rtp_signalled = {net::Address::v4(0x7f000001u), 7000};
    b.rtp_latched = {net::Address::any(net::Family::v6), 0};  // not latched
    const auto out = show_call_details({a, b});
    EXPECT_NE(out.text.find(" SIP [::1]:5062,"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find("  RTP signalled: [2001:db8::7]:6000, latched: [::1]:6002\n"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find("  RTP signalled: 127.0.0.1:7000, latched: -\n"), std::string::npos) << out.text;
    EXPECT_EQ(out.data["calls"][0]["legs"][0]["rtp_signalled"], "[2001:db8::7]:6000");
    EXPECT_EQ(out.data["calls"][0]["legs"][0]["remote"], "[::1]:5062");
    EXPECT_NE(show_calls({a, b}).text.find("[::1]:5062"), std::string::npos);
}

TEST(Show, NoCalls) {
    EXPECT_EQ(show_calls({}).text,
              "Callid  Peer-leg  Dial-peer  Remote            Codec     State   Fork\nTotal calls: 0\n");
}

TEST(Show, LongFieldsStaySeparated) {
    std::vector<LegRow> rows = {{1, 2, 2147483647, "127.100.100.100:65535", "telephone-event", "alerting", "none"},
                                {2, 1, 1, "x", "-", "alerting", "none"}};
    auto text = show_calls(rows).text;
    EXPECT_NE(text.find("2147483647 127.100.100.100:65535 telephone-event alerting none\n"), std::string::npos) << text;
}

TEST(Show, ForkGlobalShowsRelayCountersAndExtraLines) {
    FakeRelay relay(10);
    relay.allocate();
    relay.counters_.direction[0].packets_relayed = 7;
    relay.counters_.direction[1].bytes_relayed = 1720;
    auto out = show_fork_global(relay, [](media::Direction d) {
        return std::vector<std::pair<std::string, std::uint64_t>>{
            {"Packets forked", d == media::Direction::caller ? 3u : 4u}};
    });
    EXPECT_NE(out.text.find(" Relay port pairs free: 9\n"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find(" Direction caller\n  RTP packets relayed: 7\n"), std::string::npos);
    EXPECT_NE(out.text.find("  RTP bytes relayed: 1720\n"), std::string::npos);
    EXPECT_NE(out.text.find("  Packets forked: 4\n"), std::string::npos);
    EXPECT_EQ(out.data["port_pairs_free"], 9);
    EXPECT_EQ(out.data["caller"]["packets_forked"], 3);
}

TEST(Show, SipStatistics) {
    SipCounters c;
    c.rejected_untrusted = 2;
    auto out = show_statistics(c, 3);
    EXPECT_NE(out.text.find(" Rejected untrusted source (403): 2\n"), std::string::npos) << out.text;
    EXPECT_EQ(out.data["rejected_untrusted_source_403"], 2);
    EXPECT_NE(out.text.find(" Dialogs open: 3\n"), std::string::npos);
    // Every key is plain snake_case words: no doubled, leading or trailing `_`.
    for (const auto& [key, value] : out.data.items()) EXPECT_TRUE(std::regex_match(key, std::regex("[a-z0-9]+(_[a-z0-9]+)*"))) << key;
    EXPECT_EQ(out.data["glare_491"], 0);
    EXPECT_EQ(out.data["rejected_message_too_large_513"], 0);
    EXPECT_EQ(out.data["re_invites_relayed"], 0);
}

}  // namespace
}  // namespace voxfork::sip::test
