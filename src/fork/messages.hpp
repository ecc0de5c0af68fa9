// The status bodies the fork part sends to the controller (docs/controller.md
// "Status INFOs").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "request.hpp"

namespace voxfork::fork {

// Status bodies, fields in the order of docs/controller.md's example. `guid` is left
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

}  // namespace voxfork::fork
