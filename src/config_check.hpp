// What `voxforkd --check` verifies beyond the parser. Parsing is a pure
// function of the text; these look at the host: a file the configuration
// names must exist and be readable, and the ports it asks for must not
// collide with each other.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "voxfork/config.hpp"

namespace voxfork {

// `text` is the file `config` was parsed from, for the line of each problem.
std::vector<config::ConfigError> check_meaning(const config::Config& config, const std::string& path,
                                               std::string_view text);

}  // namespace voxfork
