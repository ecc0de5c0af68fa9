#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sip/sdp.hpp"

namespace sdp = voxfork::sip::sdp;
namespace net = voxfork::net;
using voxfork::config::Codec;

namespace {

const char* kOffer =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 10.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 8 18 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=ptime:20\r\n"
    "a=rtcp:6005\r\n"
    "a=sendrecv\r\n"
    "m=video 6010 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n";

net::Address ip(const char* text) {
    return *net::Address::parse(text);
}

sdp::Session parsed(const std::string& text) {
    std::string error;
    auto s = sdp::parse(text, &error);
    EXPECT_TRUE(s) << error;
    return s ? *s : sdp::Session{};
}

}  // namespace

TEST(Sdp, ParsesAndPrintsBack) {
    auto s = parsed(kOffer);
    ASSERT_EQ(s.media.size(), 2u);
    EXPECT_EQ(s.media[0].type, "audio");
    EXPECT_EQ(s.media[0].port, 6000);
    EXPECT_EQ(s.media[0].formats, (std::vector<std::string>{"0", "8", "18", "101"}));
    EXPECT_EQ(sdp::print(s), kOffer);
}

TEST(Sdp, AcceptsBareNewlines) {
    std::string text = kOffer;
    std::string lf;
    for (char c : text)
        if (c != '\r') lf += c;
    auto s = parsed(lf);
    EXPECT_EQ(sdp::print(s), kOffer);
}

TEST(Sdp, RejectsMalformedBodies) {
    EXPECT_FALSE(sdp::parse(""));
    EXPECT_FALSE(sdp::parse("hello world"));
    EXPECT_FALSE(sdp::parse("o=a 1 1 IN IP4 1.2.3.4\r\nv=0\r\n"));  // v= not first
    EXPECT_FALSE(sdp::parse("v=0\r\ns=-\r\n"));                     // no o=
    EXPECT_FALSE(sdp::parse("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n"));
    EXPECT_FALSE(sdp::parse("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\n"));  // no c=
    EXPECT_FALSE(sdp::parse("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4\r\nm=audio 5 RTP/AVP 0\r\n"));
    std::string error;
    EXPECT_FALSE(sdp::parse(std::string("v=0\r\n\x01\x02\r\n"), &error));
    EXPECT_FALSE(error.empty());
}

TEST(Sdp, NamesFormatsStaticAndDynamic) {
    auto s = parsed(kOffer);
    auto f = sdp::formats(*sdp::audio(s));
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(f[0].encoding, "PCMU");
    EXPECT_EQ(sdp::codec_name(f[0]), "g711ulaw");
    EXPECT_EQ(sdp::codec_name(f[1]), "g711alaw");
    EXPECT_EQ(f[2].encoding, "G729");  // static, no rtpmap
    EXPECT_EQ(sdp::codec_name(f[2]), "g729");
    EXPECT_TRUE(f[3].is_telephone_event());
    EXPECT_EQ(sdp::first_codec(*sdp::audio(s))->payload_type, 0);
}

TEST(Sdp, APayloadTypesFirstRtpmapNamesIt) {
    auto s = parsed(
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 96 0 97 x\r\n"
        "a=rtpmap:96 opus/48000/2\r\na=rtpmap:96 PCMA/8000\r\n"
        "a=rtpmap:0\r\na=rtpmap:97\r\na=rtpmap:97 PCMU/8000\r\n");
    auto f = sdp::formats(*sdp::audio(s));
    ASSERT_EQ(f.size(), 4u);
    EXPECT_EQ(f[0].encoding, "opus");
    EXPECT_EQ(f[0].clock_rate, 48000);
    EXPECT_EQ(f[1].encoding, "PCMU");  // an rtpmap that names nothing: the static name stands
    EXPECT_FALSE(f[2].known());        // a dynamic type's first rtpmap names nothing
    EXPECT_EQ(f[3].payload_type, -1);  // not a number
}

// Each format searched the lines for its rtpmap and each line the kept
// formats: quadratic in an offer's size, so that the B2BUA's looks at an
// offer of 32 KiB (10,000 formats, 900 lines) held the SIP thread for 0.36 s.
// This offer is twice that in both directions: 2 s before, 30 ms now.
TEST(Sdp, AnOfferOfManyFormatsIsReadInLinearTime) {
    std::string text = "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP";
    for (int i = 0; i < 20000; ++i) text += i % 2 ? " 99" : " 8";
    text += "\r\n";
    for (int i = 0; i < 2000; ++i) text += "a=rtpmap:98 x\r\n";
    auto s = parsed(text.c_str());
    sdp::Media& audio = *sdp::audio(s);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(sdp::formats(audio).size(), 20000u);
    EXPECT_TRUE(sdp::has_known_codec(audio));
    EXPECT_TRUE(sdp::filter_codec(audio, Codec::g711alaw));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(audio.formats.size(), 10000u);
    // A generous bound, for sanitizer builds on a busy host that may stall
    // the test for a while; the quadratic reading took twice as long.
    EXPECT_LT(took, std::chrono::seconds(1));
}

TEST(Sdp, UnknownCodecsAreDetected) {
    auto s = parsed(
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 97 101\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n");
    EXPECT_FALSE(sdp::has_known_codec(*sdp::audio(s)));
}

TEST(Sdp, FilterKeepsOneCodecAndTelephoneEvent) {
    auto s = parsed(kOffer);
    sdp::Media& audio = *sdp::audio(s);
    ASSERT_TRUE(sdp::filter_codec(audio, Codec::g711alaw));
    EXPECT_EQ(audio.formats, (std::vector<std::string>{"8", "101"}));
    std::string text = sdp::print(s);
    EXPECT_EQ(text.find("PCMU"), std::string::npos);
    EXPECT_EQ(text.find("annexb"), std::string::npos);
    EXPECT_NE(text.find("a=rtpmap:8 PCMA/8000"), std::string::npos);
    EXPECT_NE(text.find("a=fmtp:101 0-16"), std::string::npos);
    EXPECT_NE(text.find("a=ptime:20"), std::string::npos);
}

TEST(Sdp, FilterWithoutThatCodecChangesNothing) {
    auto s = parsed(kOffer);
    sdp::Media& audio = *sdp::audio(s);
    EXPECT_FALSE(sdp::filter_codec(audio, Codec::opus));
    EXPECT_EQ(audio.formats.size(), 4u);
}

TEST(Sdp, RemoteUsesRtcpAttributeAndMediaConnection) {
    auto s = parsed(kOffer);
    auto r = sdp::remote(s, *sdp::audio(s));
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.address, net::Address::v4(0x0a000001u));
    EXPECT_EQ(r.rtp_port, 6000);
    EXPECT_EQ(r.rtcp_port, 6005);
    auto m =
        parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 5.6.7.8\r\n");
    auto r2 = sdp::remote(m, *sdp::audio(m));
    EXPECT_EQ(r2.address, net::Address::v4(0x05060708u));
    EXPECT_EQ(r2.rtcp_port, 5001);
    auto h = parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 host.example\r\nm=audio 5000 RTP/AVP 0\r\n");
    EXPECT_FALSE(sdp::remote(h, *sdp::audio(h)).ok);
}

TEST(Sdp, HoldDetection) {
    auto base = std::string("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\n");
    auto s = parsed(base);
    EXPECT_FALSE(sdp::is_hold(s, *sdp::audio(s)));
    for (const char* attr : {"a=sendonly\r\n", "a=recvonly\r\n", "a=inactive\r\n"}) {
        auto h = parsed(base + attr);
        EXPECT_TRUE(sdp::is_hold(h, *sdp::audio(h))) << attr;
    }
    auto zero = parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 0.0.0.0\r\nm=audio 5000 RTP/AVP 0\r\n");
    EXPECT_TRUE(sdp::is_hold(zero, *sdp::audio(zero)));
    auto r = sdp::remote(zero, *sdp::audio(zero));
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.address, net::Address{});
    // Session-level direction applies when the stream names none.
    auto session =
        parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\na=sendonly\r\nm=audio 5000 RTP/AVP 0\r\n");
    EXPECT_TRUE(sdp::is_hold(session, *sdp::audio(session)));
}

TEST(Sdp, SrtpDetection) {
    auto plain = parsed(kOffer);
    EXPECT_FALSE(sdp::is_srtp(*sdp::audio(plain)));
    auto savp = parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/SAVP 0\r\n");
    EXPECT_TRUE(sdp::is_srtp(*sdp::audio(savp)));
    auto crypto = parsed(
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n");
    EXPECT_TRUE(sdp::is_srtp(*sdp::audio(crypto)));
}

TEST(Sdp, AnchorRewritesAddressesPortsAndOrigin) {
    auto s = parsed(kOffer);
    sdp::Origin origin{777, 0};
    sdp::anchor(s, ip("127.0.0.9"), 20000, origin);
    std::string text = sdp::print(s);
    EXPECT_NE(text.find("o=voxfork 777 1 IN IP4 127.0.0.9\r\n"), std::string::npos) << text;
    EXPECT_NE(text.find("c=IN IP4 127.0.0.9\r\n"), std::string::npos);
    EXPECT_EQ(text.find("10.0.0.1"), std::string::npos);
    EXPECT_NE(text.find("m=audio 20000 RTP/AVP 0 8 18 101\r\n"), std::string::npos);
    EXPECT_NE(text.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos);  // declined: only audio is anchored
    EXPECT_EQ(text.find("a=rtcp:"), std::string::npos);
    EXPECT_NE(text.find("a=ptime:20"), std::string::npos);
    EXPECT_NE(text.find("a=sendrecv"), std::string::npos);
    sdp::anchor(s, ip("127.0.0.9"), 20000, origin);
    EXPECT_NE(sdp::print(s).find("o=voxfork 777 2 IN IP4"), std::string::npos);
}

TEST(Sdp, AnchorDropsIceAttributesEndOfCandidatesIncluded) {
    auto s = parsed("v=0\r\no=a 1 1 IN IP4 10.0.0.1\r\nc=IN IP4 10.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\n"
                    "a=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
                    "a=candidate:1 1 UDP 2130706431 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n"
                    "a=sendrecv\r\n");
    sdp::Origin origin{1, 0};
    sdp::anchor(s, ip("127.0.0.1"), 30000, origin);
    const std::string text = sdp::print(s);
    for (const char* gone : {"ice-ufrag", "ice-pwd", "candidate:", "end-of-candidates"})
        EXPECT_EQ(text.find(gone), std::string::npos) << gone << " relayed:\n" << text;
    EXPECT_NE(text.find("a=sendrecv"), std::string::npos);
}

TEST(Sdp, AnchorKeepsOldStyleHoldAndAddsMissingConnection) {
    auto zero = parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 0.0.0.0\r\nm=audio 5000 RTP/AVP 0\r\n");
    sdp::Origin origin{1, 0};
    sdp::anchor(zero, ip("127.0.0.1"), 30000, origin);
    EXPECT_NE(sdp::print(zero).find("c=IN IP4 0.0.0.0"), std::string::npos);
    auto media_only = parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\n");
    sdp::anchor(media_only, ip("127.0.0.1"), 30000, origin);
    EXPECT_NE(sdp::print(media_only).find("m=audio 30000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n"), std::string::npos);
}

TEST(Sdp, Ip6ConnectionIsARemoteOfItsFamily) {
    auto s = parsed("v=0\r\no=a 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:DB8::1\r\nt=0 0\r\n"
                    "m=audio 6000 RTP/AVP 0\r\na=rtcp:6009 IN IP6 2001:db8::2\r\n");
    auto r = sdp::remote(s, *sdp::audio(s));
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.address, ip("2001:db8::1"));
    EXPECT_EQ(r.rtp_port, 6000);
    EXPECT_EQ(r.rtcp_address, ip("2001:db8::2"));
    EXPECT_EQ(r.rtcp_port, 6009);
    EXPECT_FALSE(sdp::is_hold(s, *sdp::audio(s)));
    // An a=rtcp address of the other family is not taken: the leg's ports have one family.
    auto mixed = parsed("v=0\r\no=a 1 1 IN IP6 ::1\r\nc=IN IP6 ::1\r\nm=audio 6000 RTP/AVP 0\r\n"
                        "a=rtcp:6009 IN IP4 10.0.0.1\r\n");
    EXPECT_EQ(sdp::remote(mixed, *sdp::audio(mixed)).rtcp_address, ip("::1"));
}

TEST(Sdp, ConnectionMustBeALiteralOfTheFamilyItNames) {
    for (const char* c : {"c=IN IP6 host.example", "c=IN IP4 ::1", "c=IN IP6 10.0.0.1", "c=IN IP6 fe80::1%eth0",
                          "c=IN IP7 ::1", "c=IN IP4 host.example"}) {
        auto s = parsed(std::string("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\n") + c + "\r\nm=audio 5000 RTP/AVP 0\r\n");
        EXPECT_FALSE(sdp::remote(s, *sdp::audio(s)).ok) << c;
    }
}

TEST(Sdp, Ip6HoldIsUnspecified) {
    auto s = parsed("v=0\r\no=a 1 1 IN IP6 ::1\r\nc=IN IP6 ::\r\nm=audio 5000 RTP/AVP 0\r\n");
    EXPECT_TRUE(sdp::is_hold(s, *sdp::audio(s)));
    auto r = sdp::remote(s, *sdp::audio(s));
    EXPECT_TRUE(r.ok);
    EXPECT_TRUE(r.address.is_unspecified());
    EXPECT_TRUE(r.address.is_v6());
}

TEST(Sdp, AnchorWritesTheFamilyOfTheLegsAddress) {
    // An IPv4 offer relayed to an IPv6 leg, and back: c= and o= follow the address given.
    auto s = parsed(kOffer);
    sdp::Origin origin{5, 0};
    sdp::anchor(s, ip("::1"), 20000, origin);
    std::string text = sdp::print(s);
    EXPECT_NE(text.find("o=voxfork 5 1 IN IP6 ::1\r\n"), std::string::npos) << text;
    EXPECT_NE(text.find("c=IN IP6 ::1\r\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("IP4"), std::string::npos) << text;
    sdp::anchor(s, ip("127.0.0.9"), 20000, origin);
    text = sdp::print(s);
    EXPECT_NE(text.find("c=IN IP4 127.0.0.9\r\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("IP6"), std::string::npos) << text;
}

TEST(Sdp, AnchorSpellsAHoldInTheLegsFamily) {
    auto v6_hold = parsed("v=0\r\no=a 1 1 IN IP6 ::1\r\nc=IN IP6 ::\r\nm=audio 5000 RTP/AVP 0\r\n");
    sdp::Origin origin{1, 0};
    sdp::anchor(v6_hold, ip("127.0.0.1"), 30000, origin);
    EXPECT_NE(sdp::print(v6_hold).find("c=IN IP4 0.0.0.0\r\n"), std::string::npos) << sdp::print(v6_hold);
    auto v4_hold = parsed("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 0.0.0.0\r\nm=audio 5000 RTP/AVP 0\r\n");
    sdp::anchor(v4_hold, ip("2001:db8::7"), 30000, origin);
    EXPECT_NE(sdp::print(v4_hold).find("c=IN IP6 ::\r\n"), std::string::npos) << sdp::print(v4_hold);
    EXPECT_NE(sdp::print(v4_hold).find("o=voxfork 1 2 IN IP6 2001:db8::7\r\n"), std::string::npos);
}
