#include <gtest/gtest.h>

#include "../../../src/media/rtp.hpp"
#include "udp_peer.hpp"

namespace voxfork::media {
namespace {

using test::Bytes;
using test::RtpFields;

rtp::Kind classify(const Bytes& b, rtp::Header& h) {
    return rtp::classify_rtp_port(std::span<const std::uint8_t>(b.data(), b.size()), h);
}

TEST(RtpParse, PlainPacketFields) {
    RtpFields f;
    f.sequence = 0xabcd;
    f.timestamp = 0x01020304;
    f.ssrc = 0xdeadbeef;
    f.payload_type = 8;
    f.marker = true;
    const Bytes payload = test::payload_of(3);
    rtp::Header h;
    ASSERT_EQ(classify(test::rtp_packet(f, payload), h), rtp::Kind::rtp);
    EXPECT_EQ(h.sequence, 0xabcd);
    EXPECT_EQ(h.timestamp, 0x01020304u);
    EXPECT_EQ(h.ssrc, 0xdeadbeefu);
    EXPECT_EQ(h.payload_type, 8);
    EXPECT_TRUE(h.marker);
    EXPECT_EQ(h.payload_offset, 12u);
    EXPECT_EQ(h.payload_size, 160u);
}

TEST(RtpParse, PayloadSkipsCsrcsExtensionAndPadding) {
    RtpFields f;
    f.csrc_count = 3;
    f.with_extension = true;
    f.extension_words = 2;
    f.padding = 5;
    const Bytes payload = test::payload_of(9, 20);
    const Bytes packet = test::rtp_packet(f, payload);
    rtp::Header h;
    ASSERT_EQ(classify(packet, h), rtp::Kind::rtp);
    EXPECT_EQ(h.payload_offset, 12u + 12u + 4u + 8u);
    ASSERT_EQ(h.payload_size, 20u);
    EXPECT_EQ(Bytes(packet.begin() + static_cast<long>(h.payload_offset),
                    packet.begin() + static_cast<long>(h.payload_offset + h.payload_size)),
              payload);
}

TEST(RtpParse, MalformedPackets) {
    rtp::Header h;
    EXPECT_EQ(classify(Bytes{0x80, 0, 0, 1, 0}, h), rtp::Kind::malformed);  // short
    Bytes v1 = test::rtp_packet({}, test::payload_of(1));
    v1[0] = 0x40;  // version 1
    EXPECT_EQ(classify(v1, h), rtp::Kind::malformed);
    Bytes csrc = test::rtp_packet({}, Bytes(8));
    csrc[0] = 0x8f;  // 15 CSRCs claimed, 8 bytes present
    EXPECT_EQ(classify(csrc, h), rtp::Kind::malformed);
    RtpFields ext;
    ext.with_extension = true;
    ext.extension_words = 1;
    Bytes long_ext = test::rtp_packet(ext, Bytes(4));
    long_ext[15] = 200;  // extension length beyond the packet
    EXPECT_EQ(classify(long_ext, h), rtp::Kind::malformed);
    RtpFields pad;
    pad.padding = 1;
    Bytes big_pad = test::rtp_packet(pad, Bytes(10));
    big_pad.back() = 60;  // more padding than payload
    EXPECT_EQ(classify(big_pad, h), rtp::Kind::malformed);
    big_pad.back() = 0;  // a padding count of 0 is invalid
    EXPECT_EQ(classify(big_pad, h), rtp::Kind::malformed);
}

TEST(RtpParse, MultiplexedRtcpIsRecognised) {
    rtp::Header h;
    const Bytes empty_rr{0x80, 201, 0, 1, 1, 2, 3, 4};
    EXPECT_EQ(classify(empty_rr, h), rtp::Kind::rtcp);
    Bytes sr(28, 0);
    sr[0] = 0x80;
    sr[1] = 200;
    EXPECT_EQ(classify(sr, h), rtp::Kind::rtcp);
}

TEST(RtpParse, RtcpPort) {
    const Bytes rr{0x80, 201, 0, 1, 1, 2, 3, 4};
    EXPECT_EQ(rtp::classify_rtcp_port(std::span<const std::uint8_t>(rr.data(), rr.size())), rtp::Kind::rtcp);
    const Bytes shorter{0x80, 201, 0, 1};
    EXPECT_EQ(rtp::classify_rtcp_port(std::span<const std::uint8_t>(shorter.data(), shorter.size())),
              rtp::Kind::malformed);
    const Bytes v0{0x00, 201, 0, 1, 1, 2, 3, 4};
    EXPECT_EQ(rtp::classify_rtcp_port(std::span<const std::uint8_t>(v0.data(), v0.size())), rtp::Kind::malformed);
}

}  // namespace
}  // namespace voxfork::media
