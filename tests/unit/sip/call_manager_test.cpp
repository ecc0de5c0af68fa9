#include <gtest/gtest.h>

#include "fakes.hpp"
#include "sip/call_manager.hpp"

namespace voxfork::sip::test {
namespace {

using config::Codec;

const std::string kCallerSdp =
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n";
const std::string kCalleeSdp =
    "v=0\r\no=callee 5 5 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 7000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

std::string hold_sdp(const std::string& sdp) {
    return sdp + "a=sendonly\r\n";
}

class RecordingSeam : public ForkSeam {
public:
    void on_fork_request(const ForkRequest& r) override { requests.push_back(r); }
    void on_media_changed(CallId anchor, const MediaState& m) override { media.emplace_back(anchor, m); }
    void on_call_ended(CallId anchor) override { ended.push_back(anchor); }
    std::string fork_state(CallId) const override { return "active"; }
    std::vector<ForkRequest> requests;
    std::vector<std::pair<CallId, MediaState>> media;
    std::vector<CallId> ended;
};

config::ConfigPtr make_config(std::optional<Codec> out_codec = std::nullopt, bool trusted_loopback = true) {
    auto c = std::make_shared<config::Config>();
    if (trusted_loopback) c->voip.trusted.push_back(*net::Network::parse("127.0.0.0/8"));
    config::DialPeer in;
    in.tag = 900;
    in.incoming_called_number = "6777";
    c->dial_peers[900] = in;
    config::DialPeer out;
    out.tag = 901;
    out.destination_pattern = "6777";
    out.session_target = config::SessionTarget{config::SessionTarget::Kind::ipv4, "127.0.0.1", 7052};
    out.codec = out_codec;
    c->dial_peers[901] = out;
    config::DialPeer named;
    named.tag = 902;
    named.destination_pattern = "5555";
    named.session_target = config::SessionTarget{config::SessionTarget::Kind::dns, "agents.lab", 7060};
    named.transport = config::Transport::tcp;
    c->dial_peers[902] = named;
    return c;
}

class CallManagerTest : public ::testing::Test {
protected:
    void SetUp() override { build(make_config()); }
    void build(config::ConfigPtr config) {
        manager =
            std::make_unique<CallManager>(stack, relay, std::move(config), [this](const std::string& host, auto done) {
                resolved_host = host;
                pending_resolution = std::move(done);
            });
        manager->set_seam(&seam);
    }

    IncomingRequest request(Method method, HandleId handle, const std::string& ct = "", const std::string& body = "") {
        IncomingRequest r;
        r.method = method;
        r.handle = handle;
        if (method == Method::invite || method == Method::info) r.request = next_request++;
        r.call_id = "call-" + std::to_string(handle);
        r.transaction = r.call_id + " " + std::to_string(r.request);
        r.request_user = "6777";
        r.from_user = "1000";
        r.source = {net::Address::v4(0x7f000001u), 5061, false};
        r.body.content_type = ct;
        r.body.text = body;
        return r;
    }
    Response response(HandleId handle, int status, const std::string& sdp = "", Method method = Method::invite) {
        Response r;
        r.method = method;
        r.handle = handle;
        r.status = status;
        r.phrase = "x";
        if (!sdp.empty()) r.body = Body{"application/sdp", sdp, {}, false};
        return r;
    }

    // INVITE on handle 1 answered by the callee: returns leg B's handle.
    HandleId connect(const std::string& offer = kCallerSdp, const std::string& answer = kCalleeSdp) {
        invite = request(Method::invite, 1, "application/sdp", offer);
        manager->on_request(invite);
        const Action* out = stack.last("invite");
        EXPECT_TRUE(out);
        HandleId b = out ? out->handle : 0;
        manager->on_response(response(b, 180));
        manager->on_response(response(b, 200, answer));
        manager->on_request(request(Method::ack, 1));
        return b;
    }

    FakeStack stack;
    FakeRelay relay;
    RecordingSeam seam;
    std::unique_ptr<CallManager> manager;
    RequestId next_request = 1;
    IncomingRequest invite;
    std::string resolved_host;
    dns::Resolver::Handler pending_resolution;
};

// PCMU on dynamic payload types: each side sends with the types of the SDP it
// got, so the caller uses the callee's 97 and the callee the caller's 96.
TEST_F(CallManagerTest, CodecPayloadTypeOfEachStreamIsReported) {
    const std::string offer =
        "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 6000 RTP/AVP 96 101\r\na=rtpmap:96 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
    const std::string answer =
        "v=0\r\no=callee 5 5 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 97 100\r\na=rtpmap:97 PCMU/8000\r\na=rtpmap:100 telephone-event/8000\r\n";
    connect(offer, answer);
    ASSERT_EQ(seam.media.size(), 1u);
    const MediaState& m = seam.media[0].second;
    EXPECT_EQ(m.codec[0], "g711ulaw");
    EXPECT_EQ(m.codec_pt[0], 97);
    EXPECT_EQ(m.codec_pt[1], 96);
    EXPECT_EQ(m.telephone_event_pt[0], 100);
    EXPECT_EQ(m.telephone_event_pt[1], 101);
}

TEST_F(CallManagerTest, BasicCallIsAnchoredBothWays) {
    HandleId b = connect();
    const Action* out = &stack.actions[0];
    ASSERT_EQ(out->what, "invite");
    EXPECT_EQ(out->invite.request_uri, "sip:6777@127.0.0.1:7052");
    EXPECT_NE(out->body.text.find("m=audio 20006 RTP/AVP 0 8 101"), std::string::npos) << out->body.text;
    EXPECT_NE(out->body.text.find("o=voxfork "), std::string::npos);
    EXPECT_EQ(stack.answers(invite.request), (std::vector<int>{180, 200}));
    const Action* answer = stack.last("respond");
    EXPECT_NE(answer->body.text.find("m=audio 20004 RTP/AVP 0 101"), std::string::npos) << answer->body.text;
    EXPECT_EQ(answer->body.text.find("7000"), std::string::npos);
    // The relay learned both remotes.
    auto a_remote = relay.remotes.at({1, media::Leg::a});
    auto b_remote = relay.remotes.at({1, media::Leg::b});
    EXPECT_EQ(a_remote.first, (net::Endpoint{net::Address::v4(0x7f000001u), 6000}));
    EXPECT_EQ(a_remote.second, (net::Endpoint{net::Address::v4(0x7f000001u), 6001}));
    EXPECT_EQ(b_remote.first, (net::Endpoint{net::Address::v4(0x7f000001u), 7000}));
    ASSERT_EQ(seam.media.size(), 1u);
    EXPECT_EQ(seam.media[0].second.codec[0], "g711ulaw");
    EXPECT_FALSE(seam.media[0].second.hold);
    EXPECT_EQ(seam.media[0].second.telephone_event_pt[0], 101);
    EXPECT_EQ(seam.media[0].second.telephone_event_pt[1], 101);
    EXPECT_EQ(seam.media[0].second.codec_pt[0], 0);
    EXPECT_EQ(seam.media[0].second.codec_pt[1], 0);

    auto info = manager->find_call(2);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->anchor, 1u);
    EXPECT_EQ(info->legs[0].dial_peer, 900u);
    EXPECT_EQ(info->legs[1].dial_peer, 901u);
    EXPECT_EQ(info->legs[0].sip_call_id, "call-1");
    EXPECT_EQ(info->legs[0].remote, "127.0.0.1:5061");
    EXPECT_TRUE(info->confirmed);
    auto rows = manager->rows();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].callid, 1u);
    EXPECT_EQ(rows[0].peer, 2u);
    EXPECT_EQ(rows[1].remote, "127.0.0.1:7052");
    EXPECT_EQ(rows[1].state, "active");

    manager->on_request(request(Method::bye, 1));
    EXPECT_EQ(stack.last("bye")->handle, b);
    EXPECT_TRUE(relay.sessions.empty());
    EXPECT_EQ(seam.ended, (std::vector<CallId>{1}));
    EXPECT_EQ(manager->call_count(), 0u);
    manager->on_terminated(1);
    EXPECT_EQ(manager->calls_left(), 1u);
    manager->on_terminated(b);
    EXPECT_EQ(manager->calls_left(), 0u);
    EXPECT_EQ(relay.double_releases, 0);
    EXPECT_EQ(manager->counters().calls_connected, 1u);
}

TEST_F(CallManagerTest, ByeFromCalleeReachesCaller) {
    HandleId b = connect();
    manager->on_request(request(Method::bye, b));
    EXPECT_EQ(stack.last("bye")->handle, 1u);
    EXPECT_TRUE(relay.sessions.empty());
}

// A caller that never ACKs the 200: when the stack gives up on the ACK, both
// legs get a BYE, the relay ports go back and the call is counted.
TEST_F(CallManagerTest, TwoHundredNeverAckedEndsTheCallWithByeOnBothLegs) {
    HandleId b = connect();
    manager->on_ack_timeout(1);
    EXPECT_EQ(stack.count("bye"), 2u);
    EXPECT_TRUE(relay.sessions.empty());
    EXPECT_EQ(manager->counters().ack_timeouts, 1u);
    manager->on_ack_timeout(1);  // reported again: nothing more happens
    EXPECT_EQ(stack.count("bye"), 2u);
    manager->on_terminated(1);
    manager->on_terminated(b);
    EXPECT_EQ(manager->calls_left(), 0u);
    EXPECT_EQ(relay.double_releases, 0);
}

// With no trusted list, the dns: target agents.lab (dial-peer 902) is trusted
// by the address DNS gives it; a reload keeps it until the new lookups answer.
TEST_F(CallManagerTest, DnsTargetIsTrustedByItsLookedUpAddress) {
    manager->learn_dns_targets();  // an explicit trusted list: nothing to look up
    EXPECT_EQ(resolved_host, "");
    build(make_config(std::nullopt, false));
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.source.ip = net::Address::v4(0x7f000003u);
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{403}));  // not looked up yet

    manager->learn_dns_targets();
    EXPECT_EQ(resolved_host, "agents.lab");
    pending_resolution({net::Address::v4(0x7f000003u)});
    r = request(Method::invite, 2, "application/sdp", kCallerSdp);
    r.source.ip = net::Address::v4(0x7f000003u);
    manager->on_request(r);
    EXPECT_EQ(stack.count("invite"), 1u);

    manager->set_config(make_config(std::nullopt, false));  // a reload: looked up again
    r = request(Method::invite, 3, "application/sdp", kCallerSdp);
    r.source.ip = net::Address::v4(0x7f000003u);
    manager->on_request(r);
    EXPECT_EQ(stack.count("invite"), 2u);  // still trusted meanwhile
    pending_resolution({net::Address::v4(0x7f000004u)});       // the name moved
    r = request(Method::invite, 4, "application/sdp", kCallerSdp);
    r.source.ip = net::Address::v4(0x7f000003u);
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{403}));
    EXPECT_EQ(manager->counters().rejected_untrusted, 2u);
}

TEST_F(CallManagerTest, UntrustedSourceGets403) {
    build(make_config(std::nullopt, false));  // default list: the session targets (127.0.0.1)
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.source.ip = net::Address::v4(0x7f000002u);
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{403}));
    EXPECT_EQ(stack.count("invite"), 0u);
    EXPECT_EQ(manager->counters().rejected_untrusted, 1u);
    r = request(Method::invite, 2, "application/sdp", kCallerSdp);  // from the target itself: trusted
    manager->on_request(r);
    EXPECT_EQ(stack.count("invite"), 1u);
}

// Requests outside a dialog over UDP, screened before the stack keeps
// anything: what is answered at once and how it is counted.
TEST_F(CallManagerTest, ScreeningAnswersWithoutATransaction) {
    build(make_config(std::nullopt, false));  // trusted: the session target 127.0.0.1 only
    const auto arrival = [](Method method, std::uint32_t ip, std::size_t bytes) {
        Arrival a;
        a.method = method;
        a.source = {net::Address::v4(ip), 5060, false};
        a.bytes = bytes;
        return a;
    };
    const std::uint32_t trusted = 0x7f000001u, untrusted = 0x7f000002u;
    EXPECT_EQ(manager->screen(arrival(Method::invite, trusted, 2000)), 0);  // taken as always
    EXPECT_EQ(manager->screen(arrival(Method::bye, trusted, 500)), 0);
    EXPECT_EQ(manager->screen(arrival(Method::ack, trusted, 500)), 0);
    EXPECT_EQ(manager->screen(arrival(Method::options, trusted, 500)), 200);
    EXPECT_EQ(manager->screen(arrival(Method::options, untrusted, 500)), 200);
    EXPECT_EQ(manager->screen(arrival(Method::invite, untrusted, 2000)), 403);
    EXPECT_EQ(manager->screen(arrival(Method::other, untrusted, 500)), 403);
    EXPECT_EQ(manager->screen(arrival(Method::bye, untrusted, 500)), 481);
    EXPECT_EQ(manager->screen(arrival(Method::cancel, untrusted, 500)), 481);
    EXPECT_EQ(manager->screen(arrival(Method::ack, untrusted, 500)), kDropSilently);
    EXPECT_EQ(manager->screen(arrival(Method::invite, trusted, kMaxOutOfDialogBytes)), 0);
    EXPECT_EQ(manager->screen(arrival(Method::invite, trusted, kMaxOutOfDialogBytes + 1)), 513);
    EXPECT_EQ(manager->screen(arrival(Method::options, untrusted, 60000)), 513);
    EXPECT_EQ(manager->screen(arrival(Method::ack, trusted, 60000)), kDropSilently);
    // Over TCP only what is too large: an answer there ends the connection.
    auto tcp = arrival(Method::invite, untrusted, 2000);
    tcp.source.tcp = true;
    EXPECT_EQ(manager->screen(tcp), 0);
    tcp.method = Method::options;
    EXPECT_EQ(manager->screen(tcp), 0);
    tcp.method = Method::ack;
    EXPECT_EQ(manager->screen(tcp), 0);
    tcp.method = Method::invite;
    tcp.bytes = 200 * 1024;
    EXPECT_EQ(manager->screen(tcp), 513);
    const SipCounters& c = manager->counters();
    EXPECT_EQ(c.rejected_untrusted, 2u);
    EXPECT_EQ(c.rejected_no_dialog, 2u);
    EXPECT_EQ(c.rejected_too_large, 3u);
    EXPECT_EQ(c.invites_received, 3u);  // the refused ones; the stack reports the ones it takes
    EXPECT_EQ(stack.count("invite"), 0u);
}

TEST_F(CallManagerTest, NoRouteGets404) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "1234";
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{404}));
    EXPECT_EQ(manager->counters().rejected_no_route, 1u);
    EXPECT_TRUE(relay.sessions.empty());
}

TEST_F(CallManagerTest, CodecFilterNarrowsTheOffer) {
    build(make_config(Codec::g711alaw));
    manager->on_request(request(Method::invite, 1, "application/sdp", kCallerSdp));
    const Action* out = stack.last("invite");
    ASSERT_TRUE(out);
    EXPECT_NE(out->body.text.find("RTP/AVP 8 101\r\n"), std::string::npos) << out->body.text;
    EXPECT_EQ(out->body.text.find("PCMU"), std::string::npos);
}

TEST_F(CallManagerTest, NoCommonCodecGets488) {
    build(make_config(Codec::g729));
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{488}));
    EXPECT_EQ(manager->counters().rejected_codec, 1u);
}

// The first line of the last answer's Warning.
std::string last_warning(const FakeStack& stack) {
    const Action* answer = stack.last("respond");
    return answer ? answer->headers.warning : std::string("(no answer)");
}

TEST_F(CallManagerTest, Refused488SaysWhyInAWarning) {
    const std::string ipv6 = "v=0\r\no=a 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n";
    const std::string unknown_codec = "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 97\r\n";
    manager->on_request(request(Method::invite, 1, "application/sdp", ipv6));
    EXPECT_EQ(last_warning(stack), "301 voxfork \"Incompatible network address format: IPv4 only\"");
    manager->on_request(request(Method::invite, 2, "application/sdp", unknown_codec));
    EXPECT_EQ(last_warning(stack), "305 voxfork \"Incompatible media format: no common codec\"");
    manager->on_request(request(Method::invite, 3));
    EXPECT_EQ(last_warning(stack), "305 voxfork \"Incompatible media format: no SDP offer\"");

    build(make_config(Codec::g729));
    manager->on_request(request(Method::invite, 4, "application/sdp", kCallerSdp));
    EXPECT_EQ(last_warning(stack), "305 voxfork \"Incompatible media format: no common codec\"");
    EXPECT_EQ(stack.count("invite"), 0u);
}

TEST_F(CallManagerTest, ReinviteWithIpv6IsRefusedWithAWarningAndTheCallGoesOn) {
    HandleId b = connect();
    const std::string ipv6 =
        "v=0\r\no=callee 5 6 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";
    auto re = request(Method::invite, b, "application/sdp", ipv6);
    manager->on_request(re);
    EXPECT_EQ(stack.answers(re.request), (std::vector<int>{488}));
    EXPECT_EQ(last_warning(stack), "301 voxfork \"Incompatible network address format: IPv4 only\"");
    EXPECT_EQ(stack.count("reinvite"), 0u);
    EXPECT_EQ(manager->call_count(), 1u);
}

// A caller or called user the stack took in a header but could not build
// leg B from (bytes outside RFC 3261's user characters) is refused at once;
// before, leg B was never sent and the call stayed in setup for good.
TEST_F(CallManagerTest, UserPartsOutsideTheSipCharactersAre400) {
    auto from = request(Method::invite, 9, "application/sdp", kCallerSdp);
    from.from_user = "\xff\xfe<sip:1000";
    manager->on_request(from);
    EXPECT_EQ(stack.answers(from.request), (std::vector<int>{400}));
    auto to = request(Method::invite, 10, "application/sdp", kCallerSdp);
    to.request_user = "67 77";
    manager->on_request(to);
    EXPECT_EQ(stack.answers(to.request), (std::vector<int>{400}));
    EXPECT_EQ(stack.count("invite"), 0u);
    EXPECT_EQ(manager->counters().rejected_malformed, 2u);
    EXPECT_TRUE(relay.sessions.empty());
    connect();  // escaped and user-unreserved characters are fine
    auto escaped = request(Method::invite, 11, "application/sdp", kCallerSdp);
    escaped.from_user = "%2B1-(555);x=1";
    manager->on_request(escaped);
    EXPECT_EQ(stack.count("invite"), 2u);
}

// The stack could not build leg B's INVITE: the caller gets 500 and the
// call is gone, its relay ports back.
TEST_F(CallManagerTest, LegBThatCannotBeSentFailsTheCall) {
    stack.refuse_invites = true;
    invite = request(Method::invite, 1, "application/sdp", kCallerSdp);
    manager->on_request(invite);
    EXPECT_EQ(stack.answers(invite.request), (std::vector<int>{500}));
    EXPECT_TRUE(relay.sessions.empty());
    EXPECT_EQ(manager->counters().calls_failed, 1u);
    manager->on_terminated(1);
    EXPECT_EQ(manager->calls_left(), 0u);
}

TEST_F(CallManagerTest, ContactWithAnUnknownTransportIsRefusedAndTheCallGoesOn) {
    auto first = request(Method::invite, 9, "application/sdp", kCallerSdp);
    first.contact_transport = "sctp";
    manager->on_request(first);
    EXPECT_EQ(stack.answers(first.request), (std::vector<int>{400}));
    EXPECT_EQ(stack.count("invite"), 0u);

    HandleId b = connect();
    auto re = request(Method::invite, b, "application/sdp", hold_sdp(kCalleeSdp));
    re.contact_transport = "carrier-pigeon";
    manager->on_request(re);
    EXPECT_EQ(stack.answers(re.request), (std::vector<int>{400}));
    EXPECT_EQ(stack.count("reinvite"), 0u);
    auto tcp = request(Method::invite, b, "application/sdp", hold_sdp(kCalleeSdp));
    tcp.contact_transport = "tcp";
    manager->on_request(tcp);
    EXPECT_EQ(stack.count("reinvite"), 1u);
}

TEST_F(CallManagerTest, DownstreamServiceUnavailableGoesUpAs500WithTheReason) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    manager->on_request(r);
    HandleId b = stack.last("invite")->handle;
    Response busy = response(b, 503);
    busy.phrase = "Agent \"busy\"";
    manager->on_response(busy);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{500}));
    EXPECT_EQ(stack.last("respond")->headers.reason, "SIP;cause=503;text=\"Agent busy\"");
    EXPECT_EQ(manager->counters().downstream_503_as_500, 1u);
}

TEST_F(CallManagerTest, RelayedInfoAnswered503GoesBackAs500) {
    HandleId b = connect();
    auto info = request(Method::info, 1, "application/dtmf-relay", "Signal=5");
    manager->on_request(info);
    manager->on_response(response(b, 503, "", Method::info));
    EXPECT_EQ(stack.answers(info.request), (std::vector<int>{500}));
    EXPECT_EQ(stack.last("respond")->headers.reason, "SIP;cause=503;text=\"x\"");
}

TEST_F(CallManagerTest, BadBodiesGetClearErrors) {
    struct Case {
        std::string ct, body;
        int status;
    } cases[] = {
        {"application/sdp", "garbage", 400},
        {"application/sdp", "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=video 5 RTP/AVP 96\r\n", 488},
        {"application/sdp", "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 97\r\n", 488},
        {"", "", 488},
        {"text/plain", "hello", 488},
    };
    HandleId h = 1;
    for (const auto& c : cases) {
        auto r = request(Method::invite, h++, c.ct, c.body);
        manager->on_request(r);
        EXPECT_EQ(stack.answers(r.request), (std::vector<int>{c.status})) << c.body;
    }
    auto r = request(Method::invite, h++, "multipart/mixed", "");
    r.body.malformed = true;
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{400}));
    EXPECT_EQ(stack.count("invite"), 0u);
    EXPECT_EQ(manager->counters().rejected_malformed, 2u);
    EXPECT_TRUE(relay.sessions.empty());
}

TEST_F(CallManagerTest, EachLegLatchesAsItsDialPeerSaysAndCountsItsLatches) {
    auto config = std::make_shared<config::Config>(*make_config());
    config->dial_peers[901].rtp_latching = config::RtpLatching::strict;
    build(config);
    connect();
    ASSERT_EQ(relay.sessions.size(), 1u);
    const media::SessionId id = *relay.sessions.begin();
    EXPECT_EQ(relay.latching.at({id, media::Leg::a}), media::Latching::learn);
    EXPECT_EQ(relay.latching.at({id, media::Leg::b}), media::Latching::strict);

    manager->on_latch_changes({{id, media::Leg::a, false, false, {net::Address::v4(0x7f000001u), 6000}},
                               {id, media::Leg::a, false, true, {net::Address::v4(0x7f000004u), 6000}},
                               {id, media::Leg::a, true, false, {net::Address::v4(0x7f000001u), 6001}},
                               {id + 99, media::Leg::b, false, false, {net::Address::v4(0x7f000001u), 7000}}});  // no such call
    const auto rows = manager->rows();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].latching, config::RtpLatching::learn);
    EXPECT_EQ(rows[0].latches, 2u);
    EXPECT_EQ(rows[0].latch_moves, 1u);
    EXPECT_EQ(rows[1].latching, config::RtpLatching::strict);
    EXPECT_EQ(rows[1].latches, 0u);
    EXPECT_EQ(rows[0].rtp_signalled, (net::Endpoint{net::Address::v4(0x7f000001u), 6000}));
}

TEST_F(CallManagerTest, ExhaustedPoolGets503) {
    relay.total = 0;
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{503}));
    EXPECT_EQ(stack.last("respond")->headers.retry_after, 5u);
    EXPECT_EQ(manager->counters().rejected_no_ports, 1u);
}

// Overload refuses new calls only: the call already up goes on and ends normally.
TEST_F(CallManagerTest, OverloadRefusesNewInvitesAndKeepsEstablishedCalls) {
    bool overloaded = false;
    manager->set_overload_check([&] { return overloaded; });
    HandleId b = connect();
    overloaded = true;
    auto r = request(Method::invite, 7, "application/sdp", kCallerSdp);
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{503}));
    EXPECT_EQ(stack.last("respond")->headers.retry_after, 5u);
    EXPECT_EQ(manager->counters().rejected_overload, 1u);
    EXPECT_EQ(relay.sessions.size(), 1u) << "nothing allocated for the refused call";
    EXPECT_EQ(manager->call_count(), 1u);
    manager->on_request(request(Method::bye, 1));
    EXPECT_EQ(stack.last("bye")->handle, b);
    overloaded = false;
    auto later = request(Method::invite, 9, "application/sdp", kCallerSdp);
    manager->on_request(later);
    EXPECT_TRUE(stack.answers(later.request).empty()) << "a call after recovery is routed, not answered";
    EXPECT_EQ(manager->counters().rejected_overload, 1u);
}

TEST_F(CallManagerTest, CancelWhileRingingCancelsLegB) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    manager->on_request(r);
    HandleId b = stack.last("invite")->handle;
    manager->on_response(response(b, 180));
    manager->on_request(request(Method::cancel, 1));
    EXPECT_EQ(stack.last("cancel")->handle, b);
    EXPECT_TRUE(relay.sessions.empty());
    manager->on_response(response(b, 487));
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{180}));  // the stack itself sent the 487
    manager->on_terminated(b);
    manager->on_terminated(1);
    EXPECT_EQ(manager->calls_left(), 0u);
}

TEST_F(CallManagerTest, AnswerAfterCancelIsHungUp) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    manager->on_request(r);
    HandleId b = stack.last("invite")->handle;
    manager->on_request(request(Method::cancel, 1));
    manager->on_response(response(b, 200, kCalleeSdp));
    EXPECT_EQ(stack.last("bye")->handle, b);
    EXPECT_TRUE(stack.answers(r.request).empty());
}

TEST_F(CallManagerTest, FailureResponsesAreMappedAcross) {
    for (int status : {486, 480, 404, 603, 500}) {
        auto r = request(Method::invite, static_cast<HandleId>(status), "application/sdp", kCallerSdp);
        manager->on_request(r);
        HandleId b = stack.last("invite")->handle;
        manager->on_response(response(b, status));
        EXPECT_EQ(stack.answers(r.request), (std::vector<int>{status}));
        manager->on_terminated(b);
        manager->on_terminated(r.handle);
    }
    EXPECT_EQ(manager->calls_left(), 0u);
    EXPECT_EQ(relay.ports_free(), relay.ports_total());
    EXPECT_EQ(manager->counters().calls_failed, 5u);
}

TEST_F(CallManagerTest, HoldFromCalleeIsRelayedAndReported) {
    HandleId b = connect();
    auto re = request(Method::invite, b, "application/sdp", hold_sdp(kCalleeSdp));
    manager->on_request(re);
    const Action* out = stack.last("reinvite");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->handle, 1u);
    EXPECT_NE(out->body.text.find("a=sendonly"), std::string::npos);
    EXPECT_NE(out->body.text.find("o=voxfork"), std::string::npos);
    EXPECT_NE(out->body.text.find(" 2 IN IP4"), std::string::npos) << "origin version bumped: " << out->body.text;
    manager->on_response(response(1, 200, kCallerSdp + "a=recvonly\r\n"));
    EXPECT_EQ(stack.answers(re.request), (std::vector<int>{200}));
    ASSERT_EQ(seam.media.size(), 2u);
    EXPECT_TRUE(seam.media[1].second.hold);
    EXPECT_EQ(manager->rows()[0].state, "hold");
    // Unhold.
    auto un = request(Method::invite, b, "application/sdp", kCalleeSdp);
    manager->on_request(un);
    manager->on_response(response(1, 200, kCallerSdp));
    EXPECT_FALSE(seam.media.back().second.hold);
    EXPECT_EQ(manager->rows()[0].state, "active");
}

TEST_F(CallManagerTest, OldStyleHoldStopsSendingToThatLeg) {
    connect();
    std::string zero = kCallerSdp;
    zero.replace(zero.find("c=IN IP4 127.0.0.1"), 18, "c=IN IP4 0.0.0.0");
    manager->on_request(request(Method::invite, 1, "application/sdp", zero));
    EXPECT_EQ(relay.remotes.at({1, media::Leg::a}).first.address, net::Address{});
}

TEST_F(CallManagerTest, CodecChangeByReinvite) {
    HandleId b = connect();
    std::string alaw =
        "v=0\r\no=caller 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 6100 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    manager->on_request(request(Method::invite, 1, "application/sdp", alaw));
    EXPECT_EQ(stack.last("reinvite")->handle, b);
    EXPECT_EQ(relay.remotes.at({1, media::Leg::a}).first.port, 6100);
    std::string answer =
        "v=0\r\no=callee 5 6 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    manager->on_response(response(b, 200, answer));
    EXPECT_EQ(seam.media.back().second.codec[0], "g711alaw");
    EXPECT_EQ(manager->counters().reinvites_relayed, 1u);
}

TEST_F(CallManagerTest, GlareGets491AndAFailedReinviteIsMappedBack) {
    HandleId b = connect();
    std::string moved = kCallerSdp;
    moved.replace(moved.find("m=audio 6000"), 12, "m=audio 6200");
    auto first = request(Method::invite, 1, "application/sdp", moved);
    manager->on_request(first);
    EXPECT_EQ(relay.remotes.at({1, media::Leg::a}).first.port, 6200);
    auto second = request(Method::invite, b, "application/sdp", kCalleeSdp);
    manager->on_request(second);
    EXPECT_EQ(stack.answers(second.request), (std::vector<int>{491}));
    EXPECT_EQ(manager->counters().glare, 1u);
    manager->on_response(response(b, 491));
    EXPECT_EQ(stack.answers(first.request), (std::vector<int>{491}));
    EXPECT_EQ(relay.remotes.at({1, media::Leg::a}).first.port, 6000);
    // The call goes on: a new re-INVITE is relayed.
    manager->on_request(request(Method::invite, 1, "application/sdp", kCallerSdp));
    EXPECT_EQ(stack.count("reinvite"), 2u);
}

TEST_F(CallManagerTest, ForkInfoIsAnsweredAndHandedToTheSeam) {
    connect();
    auto info = request(Method::info, 1, kForkContentType, R"({"action":"START"})");
    manager->on_request(info);
    EXPECT_EQ(stack.answers(info.request), (std::vector<int>{200}));
    ASSERT_EQ(seam.requests.size(), 1u);
    EXPECT_EQ(seam.requests[0].carrier, Carrier::info);
    EXPECT_EQ(seam.requests[0].anchor, 1u);
    EXPECT_EQ(seam.requests[0].leg, 1u);
    EXPECT_EQ(seam.requests[0].json, R"({"action":"START"})");
    EXPECT_EQ(seam.requests[0].transaction, info.transaction);
    EXPECT_EQ(seam.requests[0].sip_call_id, "call-1");
    EXPECT_EQ(stack.count("info"), 0u);  // never forwarded
}

TEST_F(CallManagerTest, OtherInfoPassesThroughWithTheFarAnswer) {
    HandleId b = connect();
    auto info = request(Method::info, 1, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n");
    manager->on_request(info);
    const Action* out = stack.last("info");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->handle, b);
    EXPECT_EQ(out->body.text, "Signal=5\r\nDuration=160\r\n");
    EXPECT_TRUE(stack.answers(info.request).empty());
    manager->on_response(response(b, 415, "", Method::info));
    EXPECT_EQ(stack.answers(info.request), (std::vector<int>{415}));
}

TEST_F(CallManagerTest, ForkInfoOutsideADialogGets481) {
    auto info = request(Method::info, 77, kForkContentType, "{}");
    manager->on_request(info);
    EXPECT_EQ(stack.answers(info.request), (std::vector<int>{481}));
    EXPECT_EQ(stack.last("release")->handle, 77u);
    EXPECT_TRUE(seam.requests.empty());
    EXPECT_EQ(manager->counters().rejected_no_dialog, 1u);
}

TEST_F(CallManagerTest, MultipartReinviteSplitsSdpAndJson) {
    HandleId b = connect();
    auto re = request(Method::invite, 1, "multipart/mixed", "");
    re.body.parts = {{"application/sdp", kCallerSdp}, {kForkContentType, R"({"action":"START"})"}};
    manager->on_request(re);
    ASSERT_EQ(seam.requests.size(), 1u);
    EXPECT_EQ(seam.requests[0].carrier, Carrier::reinvite);
    const Action* out = stack.last("reinvite");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->handle, b);
    EXPECT_EQ(out->body.content_type, "application/sdp");
    EXPECT_EQ(out->body.text.find("START"), std::string::npos);
    manager->on_response(response(b, 200, kCalleeSdp));
    EXPECT_EQ(stack.answers(re.request), (std::vector<int>{200}));
}

TEST_F(CallManagerTest, StatusInfoGoesOnTheNamedLeg) {
    HandleId b = connect();
    EXPECT_TRUE(manager->send_status_info(2, R"({"status":"STARTED"})"));
    const Action* out = stack.last("info");
    EXPECT_EQ(out->handle, b);
    EXPECT_EQ(out->body.content_type, kForkContentType);
    manager->on_response(response(b, 200, "", Method::info));  // answers nothing on the other leg
    EXPECT_EQ(stack.count("respond"), 2u);                     // 180 and 200 of the INVITE only
    EXPECT_FALSE(manager->send_status_info(99, "{}"));
}

// A forking INFO in the early dialog (after a 180, before the 200): its status
// waits for the dialog to be confirmed, then goes out; a call that fails drops it.
TEST_F(CallManagerTest, StatusForAnEarlyRequestWaitsForTheAck) {
    manager->on_request(request(Method::invite, 1, "application/sdp", kCallerSdp));
    HandleId b = stack.last("invite")->handle;
    manager->on_response(response(b, 180));
    manager->on_request(request(Method::info, 1, kForkContentType, R"({"action":"START"})"));
    ASSERT_EQ(seam.requests.size(), 1u);
    EXPECT_TRUE(manager->send_status_info(1, R"({"status":"ERROR"})"));
    EXPECT_EQ(stack.count("info"), 0u);
    manager->on_response(response(b, 200, kCalleeSdp));
    EXPECT_EQ(stack.count("info"), 0u) << "not before the caller's ACK";
    manager->on_request(request(Method::ack, 1));
    ASSERT_EQ(stack.count("info"), 1u);
    EXPECT_EQ(stack.last("info")->handle, 1u);
    EXPECT_EQ(stack.last("info")->body.text, R"({"status":"ERROR"})");
    EXPECT_TRUE(manager->send_status_info(1, R"({"status":"STARTED"})"));
    EXPECT_EQ(stack.count("info"), 2u) << "a confirmed leg sends at once";
}

TEST_F(CallManagerTest, StatusHeldInAFailedEarlyDialogIsDropped) {
    manager->on_request(request(Method::invite, 1, "application/sdp", kCallerSdp));
    HandleId b = stack.last("invite")->handle;
    manager->on_response(response(b, 180));
    EXPECT_TRUE(manager->send_status_info(1, R"({"status":"ERROR"})"));
    manager->on_response(response(b, 486));
    EXPECT_EQ(stack.count("info"), 0u);
    EXPECT_FALSE(manager->send_status_info(1, "{}"));
}

TEST_F(CallManagerTest, DnsTargetIsResolvedFirst) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "5555";
    manager->on_request(r);
    EXPECT_EQ(resolved_host, "agents.lab");
    EXPECT_EQ(stack.count("invite"), 0u);
    pending_resolution({net::Address::v4(0x7f000003u)});
    const Action* out = stack.last("invite");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->invite.request_uri, "sip:5555@127.0.0.3:7060;transport=tcp");
}

// A broken route is not an overload: a proxy in front must not stop sending us calls.
TEST_F(CallManagerTest, UnresolvableTargetGets500) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "5555";
    manager->on_request(r);
    pending_resolution({});
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{500}));
    EXPECT_TRUE(relay.sessions.empty());
}

TEST_F(CallManagerTest, ReleaseAllEndsEveryCall) {
    HandleId b = connect();
    auto ringing = request(Method::invite, 5, "application/sdp", kCallerSdp);
    manager->on_request(ringing);
    HandleId b2 = stack.last("invite")->handle;
    manager->release_all();
    EXPECT_EQ(stack.count("bye"), 2u);
    EXPECT_EQ(stack.answers(ringing.request), (std::vector<int>{503}));
    EXPECT_NE(stack.last("respond")->headers.retry_after, 0u);
    EXPECT_EQ(stack.last("cancel")->handle, b2);
    EXPECT_TRUE(relay.sessions.empty());
    (void)b;
}

TEST_F(CallManagerTest, ManyCallsLeaveThePoolWhole) {
    relay.total = 2;
    for (HandleId h = 1; h <= 1000; ++h) {
        auto r = request(Method::invite, h * 10, "application/sdp", kCallerSdp);
        manager->on_request(r);
        HandleId b = stack.last("invite")->handle;
        manager->on_response(response(b, 200, kCalleeSdp));
        manager->on_request(request(Method::ack, h * 10));
        manager->on_request(request(Method::bye, h % 2 ? h * 10 : b));
        manager->on_terminated(b);
        manager->on_terminated(h * 10);
    }
    EXPECT_EQ(relay.ports_free(), 2u);
    EXPECT_EQ(manager->calls_left(), 0u);
    EXPECT_EQ(manager->counters().calls_connected, 1000u);
}

}  // namespace
}  // namespace voxfork::sip::test

namespace voxfork::sip::test {
namespace {

// IPv6: a dual-stack configuration (control and media on 127.0.0.1 and ::1),
// dial-peer 903 to an IPv6 target.
const std::string kCallerSdp6 =
    "v=0\r\no=caller 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
const std::string kCalleeSdp6 =
    "v=0\r\no=callee 5 5 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
    "m=audio 7000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

config::ConfigPtr dual_stack(bool ipv6_media = true) {
    auto c = std::const_pointer_cast<config::Config>(make_config());
    c->voip.trusted.push_back(*net::Network::parse("::1/128"));
    if (ipv6_media) c->voip.sip.control_address_ipv6 = "::1";
    config::DialPeer v6;
    v6.tag = 903;
    v6.destination_pattern = "6666";
    v6.session_target = config::SessionTarget{config::SessionTarget::Kind::ipv6, "::1", 7060};
    c->dial_peers[903] = v6;
    return c;
}

class Ipv6CallTest : public CallManagerTest {
protected:
    void SetUp() override {
        relay.ipv6 = net::Address::loopback(net::Family::v6);
        build(dual_stack());
    }
    // An INVITE to `user` with `offer`; the outgoing INVITE, if any.
    const Action* invite_to(const std::string& user, const std::string& offer) {
        auto r = request(Method::invite, 1, "application/sdp", offer);
        r.request_user = user;
        invite = r;
        manager->on_request(r);
        return stack.last("invite");
    }
    std::string answer_to_caller() {
        const Action* a = stack.last("respond");
        return a ? a->body.text : std::string();
    }
};

TEST_F(Ipv6CallTest, Ipv4CallerToIpv6CalleeGetsAnIpv6LegB) {
    const Action* out = invite_to("6666", kCallerSdp);
    ASSERT_TRUE(out);
    EXPECT_EQ(relay.families, (std::pair{net::Family::v4, net::Family::v6}));
    EXPECT_EQ(out->invite.request_uri, "sip:6666@[::1]:7060");
    EXPECT_EQ(out->invite.to, "<sip:6666@[::1]:7060>");
    EXPECT_EQ(out->invite.from, "<sip:1000@[::1]>");
    EXPECT_NE(out->body.text.find("c=IN IP6 ::1\r\n"), std::string::npos) << out->body.text;
    EXPECT_EQ(out->body.text.find("IP4"), std::string::npos) << out->body.text;
    manager->on_response(response(out->handle, 200, kCalleeSdp6));
    const std::string answer = answer_to_caller();
    EXPECT_NE(answer.find("c=IN IP4 127.0.0.1\r\n"), std::string::npos) << answer;
    EXPECT_EQ(relay.remotes.at({1, media::Leg::b}).first, (net::Endpoint{*net::Address::parse("::1"), 7000}));
    EXPECT_EQ(relay.remotes.at({1, media::Leg::a}).first, (net::Endpoint{net::Address::v4(0x7f000001u), 6000}));
}

TEST_F(Ipv6CallTest, Ipv6CallerToIpv4CalleeGetsAnIpv6LegA) {
    const Action* out = invite_to("6777", kCallerSdp6);
    ASSERT_TRUE(out);
    EXPECT_EQ(relay.families, (std::pair{net::Family::v6, net::Family::v4}));
    EXPECT_EQ(out->invite.request_uri, "sip:6777@127.0.0.1:7052");
    EXPECT_NE(out->body.text.find("c=IN IP4 127.0.0.1\r\n"), std::string::npos) << out->body.text;
    manager->on_response(response(out->handle, 200, kCalleeSdp));
    const std::string answer = answer_to_caller();
    EXPECT_NE(answer.find("c=IN IP6 ::1\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("o=voxfork "), std::string::npos);
    EXPECT_EQ(answer.find("IP4"), std::string::npos) << answer;
}

TEST_F(Ipv6CallTest, AnAnswerOfTheOtherFamilyThanOfferedIsUnusable) {
    const Action* out = invite_to("6666", kCallerSdp);
    ASSERT_TRUE(out);
    manager->on_response(response(out->handle, 200, kCalleeSdp));  // IPv4 from the IPv6 callee
    EXPECT_NE(last_warning(stack).find("no usable answer"), std::string::npos) << last_warning(stack);
}

TEST_F(Ipv6CallTest, AReinviteOfTheOtherFamilyIsRefusedAndTheCallGoesOn) {
    HandleId b = connect(kCallerSdp6, kCalleeSdp);
    auto re = request(Method::invite, 1, "application/sdp", kCallerSdp);  // the IPv6 caller moves to IPv4
    manager->on_request(re);
    EXPECT_EQ(stack.answers(re.request), (std::vector<int>{488}));
    EXPECT_EQ(last_warning(stack), "301 voxfork \"Incompatible network address format: IPv6 only\"");
    auto back = request(Method::invite, b, "application/sdp", kCalleeSdp6);  // the IPv4 callee to IPv6
    manager->on_request(back);
    EXPECT_EQ(stack.answers(back.request), (std::vector<int>{488}));
    EXPECT_EQ(last_warning(stack), "301 voxfork \"Incompatible network address format: IPv4 only\"");
    EXPECT_EQ(manager->call_count(), 1u);
    // A hold in the other family's spelling is still a hold.
    auto hold = request(Method::invite, 1, "application/sdp",
                        "v=0\r\no=caller 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                        "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
    manager->on_request(hold);
    EXPECT_EQ(stack.count("reinvite"), 1u);
}

TEST_F(Ipv6CallTest, ANameInCIsRefusedAsNotAnAddress) {
    const std::string fqdn = "v=0\r\no=a 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 host.example\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n";
    manager->on_request(request(Method::invite, 1, "application/sdp", fqdn));
    EXPECT_EQ(stack.answers(1), (std::vector<int>{488}));
    EXPECT_EQ(last_warning(stack), "301 voxfork \"Incompatible network address format: IP address only\"");
    EXPECT_EQ(stack.count("invite"), 0u);
}

TEST_F(CallManagerTest, AnIpv6TargetWithoutAnIpv6MediaAddressIs500) {
    build(dual_stack(false));
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "6666";
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{500}));
    EXPECT_EQ(stack.count("invite"), 0u);
    EXPECT_TRUE(relay.sessions.empty());
}

// agents.lab has an AAAA and an A record: leg B goes to the IPv6 address
// first; when that fails with 503 (a transport error) the offer goes to the
// IPv4 one, leg B's ports moved to IPv4 before anything named them.
TEST_F(Ipv6CallTest, ANameTriesItsAddressesInTurnAcrossFamilies) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "5555";
    manager->on_request(r);
    EXPECT_EQ(relay.families, (std::pair{net::Family::v4, net::Family::v4}));
    pending_resolution({*net::Address::parse("::1"), net::Address::v4(0x7f000003u)});
    const Action* first = stack.last("invite");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->invite.request_uri, "sip:5555@[::1]:7060;transport=tcp");
    EXPECT_NE(first->body.text.find("c=IN IP6 ::1\r\n"), std::string::npos) << first->body.text;
    EXPECT_EQ(relay.families, (std::pair{net::Family::v4, net::Family::v6}));
    EXPECT_EQ(relay.sessions, (std::set<media::SessionId>{2})) << "the IPv4-only session went back";
    EXPECT_EQ(relay.remotes.at({2, media::Leg::a}).first, (net::Endpoint{net::Address::v4(0x7f000001u), 6000}));

    const HandleId refused = first->handle;
    manager->on_response(response(refused, 503));
    const Action* second = stack.last("invite");
    ASSERT_TRUE(second);
    EXPECT_NE(second->handle, refused);
    EXPECT_EQ(second->invite.request_uri, "sip:5555@127.0.0.3:7060;transport=tcp");
    EXPECT_NE(second->body.text.find("c=IN IP4 127.0.0.1\r\n"), std::string::npos) << second->body.text;
    EXPECT_EQ(relay.families, (std::pair{net::Family::v4, net::Family::v4}));
    EXPECT_EQ(relay.sessions, (std::set<media::SessionId>{3}));
    EXPECT_TRUE(stack.answers(r.request).empty()) << "the caller saw nothing of the first try";
    manager->on_terminated(refused);  // the failed dialog ends: the call goes on

    manager->on_response(response(second->handle, 200, kCalleeSdp));
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{200}));
    EXPECT_EQ(manager->counters().calls_connected, 1u);
    EXPECT_EQ(relay.double_releases, 0);
    const auto rows = manager->rows();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1].remote, "127.0.0.3:7060");
}

// Only a timeout, a transport error or a 503 before any provisional answer
// moves on: a callee that said no, or rang first, has answered for the name.
TEST_F(Ipv6CallTest, ANameIsNotTriedFurtherAfterARealAnswer) {
    for (const int status : {486, 180}) {
        auto r = request(Method::invite, status, "application/sdp", kCallerSdp);
        r.request_user = "5555";
        manager->on_request(r);
        pending_resolution({*net::Address::parse("::1"), net::Address::v4(0x7f000003u)});
        const HandleId b = stack.last("invite")->handle;
        manager->on_response(response(b, status));
        if (status == 180) manager->on_response(response(b, 503));
        EXPECT_EQ(stack.count("invite"), status == 486 ? 1u : 2u);
        EXPECT_EQ(stack.answers(r.request).back(), status == 486 ? 486 : 500);
    }
    EXPECT_EQ(manager->counters().calls_failed, 2u);
}

TEST_F(Ipv6CallTest, TheLastAddressFailingEndsTheCall) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "5555";
    manager->on_request(r);
    pending_resolution({*net::Address::parse("::1"), net::Address::v4(0x7f000003u)});
    manager->on_response(response(stack.last("invite")->handle, 408));
    manager->on_response(response(stack.last("invite")->handle, 408));
    EXPECT_EQ(stack.count("invite"), 2u);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{408}));
    EXPECT_TRUE(relay.sessions.empty());
}

// Without an IPv6 media address the AAAA answers are passed over; a name
// with only those does not resolve to anything the B2BUA can use.
TEST_F(CallManagerTest, AddressesOfAFamilyWithoutARelayAddressAreSkipped) {
    auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
    r.request_user = "5555";
    manager->on_request(r);
    pending_resolution({*net::Address::parse("::1"), net::Address::v4(0x7f000003u)});
    EXPECT_EQ(stack.count("invite"), 1u);
    EXPECT_EQ(stack.last("invite")->invite.request_uri, "sip:5555@127.0.0.3:7060;transport=tcp");
    manager->on_response(response(stack.last("invite")->handle, 503));
    EXPECT_EQ(stack.count("invite"), 1u);

    r = request(Method::invite, 2, "application/sdp", kCallerSdp);
    r.request_user = "5555";
    manager->on_request(r);
    pending_resolution({*net::Address::parse("::1")});
    EXPECT_EQ(stack.count("invite"), 1u);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{500}));
    EXPECT_EQ(relay.sessions.size(), 0u);
}

// `ip host` with an IPv6 address serves a dns: target without DNS.
TEST_F(Ipv6CallTest, AnIpHostOfIpv6GivesAnIpv6LegB) {
    auto c = std::const_pointer_cast<config::Config>(dual_stack());
    c->ip_hosts["agents.lab"] = *net::Address::parse("::1");
    build(c);
    const Action* out = invite_to("5555", kCallerSdp);
    ASSERT_TRUE(out);
    EXPECT_EQ(resolved_host, "");
    EXPECT_EQ(relay.families, (std::pair{net::Family::v4, net::Family::v6}));
    EXPECT_EQ(out->invite.request_uri, "sip:5555@[::1]:7060;transport=tcp");
}

// The trusted-by-default addresses of a dns: target are all it resolves to, of both families.
TEST_F(CallManagerTest, DnsTargetIsTrustedByEveryAddressOfBothFamilies) {
    build(make_config(std::nullopt, false));
    manager->learn_dns_targets();
    pending_resolution({*net::Address::parse("::1"), net::Address::v4(0x7f000003u)});
    for (const auto& source : {*net::Address::parse("::1"), net::Address::v4(0x7f000003u)}) {
        auto r = request(Method::invite, 1, "application/sdp", kCallerSdp);
        r.source.ip = source;
        manager->on_request(r);
        EXPECT_NE(stack.answers(r.request), (std::vector<int>{403})) << source.to_string();
    }
    auto r = request(Method::invite, 3, "application/sdp", kCallerSdp);
    r.source.ip = *net::Address::parse("::2");
    manager->on_request(r);
    EXPECT_EQ(stack.answers(r.request), (std::vector<int>{403}));
}

// What the relay has bound decides what a call can be anchored on, not the
// configuration: a reload whose media address the relay refused changes nothing.
TEST_F(CallManagerTest, TheRelaysAddressesDecideWhatIsAnchored) {
    auto c = std::const_pointer_cast<config::Config>(make_config());
    c->voip.sip.media_address_ipv6 = "::1";
    build(c);
    const std::string offer6 = "v=0\r\no=a 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n";
    auto refused = request(Method::invite, 1, "application/sdp", offer6);
    manager->on_request(refused);
    EXPECT_EQ(stack.answers(refused.request), (std::vector<int>{488}));

    relay.ipv4 = net::Address::v4(0x7f000009u);
    relay.ipv6 = net::Address::loopback(net::Family::v6);
    auto r = request(Method::invite, 2, "application/sdp", offer6);
    manager->on_request(r);
    const Action* out = stack.last("invite");
    ASSERT_TRUE(out);
    EXPECT_NE(out->body.text.find("c=IN IP4 127.0.0.9\r\n"), std::string::npos) << out->body.text;
    manager->on_response(response(out->handle, 200, kCalleeSdp));
    const Action* answer = stack.last("respond");
    ASSERT_TRUE(answer);
    EXPECT_NE(answer->body.text.find("c=IN IP6 ::1\r\n"), std::string::npos) << answer->body.text;
}

}  // namespace
}  // namespace voxfork::sip::test
