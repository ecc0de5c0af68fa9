// Dial-peer pattern matching (config.md "Patterns"): digits, a leading `+`,
// `.` for any one digit, `[0-9]`/`[2-5]`/`[135]`-style sets, a trailing `T`
// for "this prefix and zero or more digits after it" (without `T`, or with a
// trailing `$`, the number must have exactly the pattern's length).
// Choosing a dial-peer ("longest match"): the most explicit digits wins; then
// the most `[...]` positions (narrower than `.`); then a fixed-length pattern
// over a `T` one; then the lower tag. Shutdown dial-peers are skipped.
// The full grammar is at the top of src/config/dialplan.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "voxfork/config.hpp"

namespace voxfork::dialplan {

// Empty when the pattern is well formed, otherwise why it is not.
std::string pattern_error(std::string_view pattern);

// How specific the match is (the number of pattern positions that matched a
// digit or `+` literally), or nullopt when `number` does not match `pattern`
// (an invalid pattern matches nothing).
std::optional<int> match(std::string_view pattern, std::string_view number);

// The dial-peer whose `incoming called-number` matches best (shutdown peers skipped).
const config::DialPeer* find_inbound(const config::Config& config, std::string_view called_number);
// The dial-peer whose `destination-pattern` matches best (shutdown peers skipped).
const config::DialPeer* find_outbound(const config::Config& config, std::string_view called_number);

}  // namespace voxfork::dialplan
