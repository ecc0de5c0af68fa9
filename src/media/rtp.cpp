#include "rtp.hpp"

namespace voxfork::media::rtp {
namespace {

constexpr std::size_t kRtpHeader = 12;
constexpr std::size_t kRtcpHeader = 8;  // header + sender SSRC: the shortest RTCP packet (an empty RR)

std::uint16_t be16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
bool version_2(std::span<const std::uint8_t> d) noexcept {
    return (d[0] >> 6) == 2;
}

}  // namespace

Kind classify_rtp_port(std::span<const std::uint8_t> d, Header& out) noexcept {
    if (d.size() < kRtpHeader || !version_2(d)) {
        // RTCP's empty RR is shorter than an RTP header; let it through when muxed.
        return d.size() >= kRtcpHeader && version_2(d) && d[1] >= 192 && d[1] <= 223 ? Kind::rtcp : Kind::malformed;
    }
    // RFC 5761: second byte 192..223 is an RTCP packet type (RTP would be PT 64..95 with marker).
    if (d[1] >= 192 && d[1] <= 223) return Kind::rtcp;

    const std::uint8_t* p = d.data();
    std::size_t offset = kRtpHeader + 4 * std::size_t{p[0] & 0x0fu};
    if ((p[0] & 0x10u) != 0) {  // header extension: 4-byte head, then length in 32-bit words
        if (offset + 4 > d.size()) return Kind::malformed;
        offset += 4 + 4 * std::size_t{be16(p + offset + 2)};
    }
    if (offset > d.size()) return Kind::malformed;
    std::size_t end = d.size();
    if ((p[0] & 0x20u) != 0) {  // padding: the last byte counts itself and the pad bytes
        const std::size_t pad = p[d.size() - 1];
        if (pad == 0 || offset + pad > end) return Kind::malformed;
        end -= pad;
    }
    out.marker = (p[1] & 0x80u) != 0;
    out.payload_type = p[1] & 0x7fu;
    out.sequence = be16(p + 2);
    out.timestamp = be32(p + 4);
    out.ssrc = be32(p + 8);
    out.payload_offset = offset;
    out.payload_size = end - offset;
    return Kind::rtp;
}

Kind classify_rtcp_port(std::span<const std::uint8_t> d) noexcept {
    return d.size() >= kRtcpHeader && version_2(d) ? Kind::rtcp : Kind::malformed;
}

}  // namespace voxfork::media::rtp
