// RTP/RTCP header checks for the relay's packet path: no allocation, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace voxfork::media::rtp {

// What a datagram received on a relay port turned out to be.
enum class Kind : std::uint8_t { rtp, rtcp, malformed };

// The fields of a valid RTP packet; the payload is [payload_offset,
// payload_offset + payload_size) of the datagram (CSRCs, the header extension
// and padding excluded).
struct Header {
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::uint8_t payload_type = 0;
    bool marker = false;
    std::size_t payload_offset = 0;
    std::size_t payload_size = 0;
};

// A datagram that arrived on an RTP port: RTP (header parsed into `out`),
// RTCP multiplexed on the RTP port (RFC 5761), or malformed.
Kind classify_rtp_port(std::span<const std::uint8_t> datagram, Header& out) noexcept;

// A datagram that arrived on an RTCP port: RTCP, or malformed.
Kind classify_rtcp_port(std::span<const std::uint8_t> datagram) noexcept;

}  // namespace voxfork::media::rtp
