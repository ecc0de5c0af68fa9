// Dial-peer pattern matching (config.md "Patterns"): digits, `+`, `.` for any
// one digit, `[0-9]`-style ranges, a trailing `T` for "this prefix and any
// digits after it". Longest (most specific) match wins; ties go to the lower tag.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "voxfork/config.hpp"

namespace voxfork::dialplan {

// Empty when the pattern is well formed, otherwise why it is not.
std::string pattern_error(std::string_view pattern);

// How specific the match is (the number of pattern positions that matched a
// digit explicitly), or nullopt when `number` does not match `pattern`.
std::optional<int> match(std::string_view pattern, std::string_view number);

// The dial-peer whose `incoming called-number` matches best (shutdown peers skipped).
const config::DialPeer* find_inbound(const config::Config& config, std::string_view called_number);
// The dial-peer whose `destination-pattern` matches best (shutdown peers skipped).
const config::DialPeer* find_outbound(const config::Config& config, std::string_view called_number);

}  // namespace voxfork::dialplan
