// Genesys AudioHook protocol version 2 on the wire, as the client speaks it
// (docs/stream.md "AudioHook"): the messages voxforkd sends, the reading of
// what the server sends, durations, and the identifiers it makes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace voxfork::stream::audiohook {

// ISO 8601 duration of `samples` at 8 kHz: PT0S, PT0.02S, PT12.34S.
std::string duration(std::uint64_t samples);

// A random (version 4) UUID, lower case.
std::string random_uuid();
// The name-based (version 5, SHA-1) UUID of `name` in `namespace_uuid`.
std::string name_uuid(std::string_view namespace_uuid, std::string_view name);
inline constexpr std::string_view url_namespace = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";
// The START's call-guid as AudioHook's conversationId: 32 hex digits written
// as a UUID, else the name-based UUID of its bytes in the URL namespace.
std::string conversation_id(std::string_view call_guid);

// Which channels the server chose in `opened`.
struct MediaChoice {
    bool external = false;  // the caller stream
    bool internal = false;  // the callee stream
    bool any() const { return external || internal; }
};

// The envelope every client message carries.
struct Envelope {
    std::string session_id;
    std::uint64_t seq = 0;        // this message's
    std::uint64_t serverseq = 0;  // the last server seq seen
    std::uint64_t position = 0;   // samples of audio sent so far
};

nlohmann::ordered_json message(const Envelope& e, std::string_view type,
                               nlohmann::ordered_json parameters = nlohmann::ordered_json::object());

struct Participant {
    std::string id;  // a UUID per call
    std::string ani, ani_name, dnis;
};

// `open`'s parameters: the three media offers in docs/stream.md's order (AudioHook).
nlohmann::ordered_json open_parameters(std::string_view organization_id, std::string_view conversation,
                                       const Participant& participant, const nlohmann::json& custom_config);

// A message from the server, read through type checks only.
struct ServerMessage {
    std::string type;
    std::uint64_t seq = 0;
    nlohmann::json parameters = nlohmann::json::object();
};
// nullopt: not JSON, not an object, no string `type`, or a `seq` that is not
// a non-negative integer.
std::optional<ServerMessage> parse_server_message(std::string_view text);
// The channels of `opened`'s media that we offered (PCMU, 8000 Hz); nullopt
// when it chose media we did not offer.
std::optional<MediaChoice> chosen_media(const nlohmann::json& parameters);

}  // namespace voxfork::stream::audiohook
