// The JSON the fork part sends: status bodies to the controller (forking.md
// "Status back to the controller") and control messages to the speech server
// (wire.md "Messages from voxforkd").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "request.hpp"

namespace voxfork::fork {

// Status bodies, fields in the order of forking.md's example. `guid` is left
// out when empty.
namespace status {
std::string started(const std::optional<std::string>& guid, std::uint32_t connection_id, std::uint32_t caller,
                    std::uint32_t callee);
std::string updated(const std::optional<std::string>& guid);
std::string paused(const std::optional<std::string>& guid, std::string_view reason);
std::string resumed(const std::optional<std::string>& guid, G711 codec);
std::string stopped(const std::optional<std::string>& guid, std::string_view reason);
std::string error(const std::optional<std::string>& guid, std::string_view reason);
}  // namespace status

// Speech-server control messages for one channel.
namespace wire {
nlohmann::ordered_json start(std::uint32_t channel, const std::string& guid, const std::string& sip_call_id,
                             std::string_view leg, G711 codec, const nlohmann::json& metadata);
nlohmann::ordered_json pause(std::uint32_t channel, std::string_view reason);
nlohmann::ordered_json resume(std::uint32_t channel, G711 codec);
nlohmann::ordered_json update(std::uint32_t channel, const nlohmann::json& metadata);
nlohmann::ordered_json stop(std::uint32_t channel, std::string_view reason);
nlohmann::ordered_json dtmf(std::uint32_t channel, char digit, std::uint16_t duration);
}  // namespace wire

}  // namespace voxfork::fork
