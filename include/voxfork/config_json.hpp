// `show running-config | json`: the configuration in effect as one JSON
// object, for scripts. Unlike the text, defaults are included (a script
// should not need to know them): every value is the one in effect.
#pragma once

#include <nlohmann/json.hpp>

#include "voxfork/config.hpp"

namespace voxfork::config {

nlohmann::json to_json(const Config& config);

}  // namespace voxfork::config
