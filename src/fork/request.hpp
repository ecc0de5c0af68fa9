// Forking request JSON → a typed request, or the reason it is rejected, in the
// validation order of docs/controller.md, "How a request is checked" (steps 1–4;
// the state, flow and codec steps 5–7 need the call and are the controller's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "voxfork/fork.hpp"
#include "voxfork/reasons.hpp"

namespace voxfork::fork {

enum class Action { start, stop, update };
// The stream layer's codec: one type for the law of a fork's audio.
using G711 = stream::Codec;

// Bodies above this size are `JSON parse failure` unread; so is nesting deeper
// than max_depth (nlohmann's parser recurses, so depth is checked first).
inline constexpr std::size_t max_body_bytes = 64 * 1024;
inline constexpr int max_depth = 32;

struct ForkRequest {
    Action action = Action::start;
    std::string call_guid;
    // START: all set (defaults applied). UPDATE: only the fields present.
    std::optional<std::string> host;  // a name or an IP literal (IPv6 bare and canonical)
    std::optional<std::uint16_t> port;
    std::optional<bool> secure;
    std::optional<std::string> path;
    std::optional<std::string> token;
    std::optional<G711> codec;               // START only: pins the fork
    std::optional<nlohmann::json> metadata;  // always an object when set
};

struct ParseResult {
    std::optional<ForkRequest> request;  // set when valid
    std::string_view error;              // a reason string when not
    // The request's call-guid when it carried a valid one, even if another
    // field was rejected: statuses echo it.
    std::optional<std::string> call_guid;
    // The action when it was one of the three (for the event trace).
    std::optional<Action> action;
};

ParseResult parse_request(std::string_view body);

// Step 4 for an UPDATE once a fork exists: host/port/secure/path/token, when
// present, must equal the START's.
bool update_matches_start(const ForkRequest& update, const stream::Target& start);

std::string_view to_string(Action action);
std::string_view codec_name(G711 codec);  // g711ulaw / g711alaw
std::uint8_t payload_type(G711 codec);    // 0 / 8
std::optional<G711> g711_from_name(std::string_view name);

}  // namespace voxfork::fork
