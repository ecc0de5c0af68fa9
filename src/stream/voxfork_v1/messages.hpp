// voxfork.v1 on the wire (docs/speech-server-protocol.md): the control messages voxforkd sends, the
// binary audio frame, and the subprotocol name.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <voxfork/stream.hpp>

namespace voxfork::stream::voxfork_v1 {

inline constexpr std::string_view subprotocol = "voxfork.v1";

std::string_view codec_name(Codec codec);  // PCMU / PCMA

// Control messages for one channel, keys in docs/speech-server-protocol.md's order.
nlohmann::ordered_json start(std::uint32_t channel, const CallInfo& call, std::string_view leg, Codec codec,
                             const nlohmann::json& metadata);
nlohmann::ordered_json pause(std::uint32_t channel, std::string_view reason);
nlohmann::ordered_json resume(std::uint32_t channel, Codec codec);
nlohmann::ordered_json update(std::uint32_t channel, const nlohmann::json& metadata);
nlohmann::ordered_json stop(std::uint32_t channel, std::string_view reason);
nlohmann::ordered_json dtmf(std::uint32_t channel, char digit, std::uint16_t duration);

// The binary frame: a 12-byte big-endian header (channel, seq, position),
// then the G.711 payload as received, in one ring record behind the channel.
inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_payload = 480;  // 60 ms of G.711

struct Framing {
    struct Record {
        std::uint32_t channel = 0;
        std::span<const std::uint8_t> bytes;  // the frame: header, payload
        std::span<const std::uint8_t> frame() const { return bytes; }
    };
    // 0 (refused) when the payload is over max_payload.
    static std::size_t size(std::uint32_t, std::uint32_t, std::uint32_t, std::span<const std::uint8_t> payload) {
        return payload.size() > max_payload ? 0 : sizeof(std::uint32_t) + header_size + payload.size();
    }
    static void encode(std::span<std::uint8_t> out, std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                       std::span<const std::uint8_t> payload) noexcept;
    static Record decode(std::span<const std::uint8_t> record) noexcept;
};

// A STOP the server sent: its channel and reason ("" when it gave none).
struct ServerStop {
    std::uint32_t channel = 0;
    std::string reason;
};
// Reads a server text frame; nullopt for anything that is not a well-formed
// STOP (docs/speech-server-protocol.md: logged at debug level and ignored). Never throws.
std::optional<ServerStop> parse_server_stop(std::string_view text);

}  // namespace voxfork::stream::voxfork_v1
