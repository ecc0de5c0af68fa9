// Dial-peer pattern matching (docs/configuration.md "Patterns"): digits, a leading `+`,
// `.` for any one digit, `[0-9]`/`[2-5]`/`[135]`-style sets. A pattern
// matches the start of a number and any further digits may follow (`6777`
// routes 67771; a trailing `T` says so explicitly), unless it ends in `$`,
// which anchors it (`6777$` matches 6777 only).
// Choosing a dial-peer ("longest match"): the most positions matched; then
// the most literal digits; then the most `[...]` positions (narrower than
// `.`); then an anchored `$` pattern over an open one; then the lower tag.
// Shutdown dial-peers are skipped. The full grammar is at the top of
// src/config/dialplan.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "voxfork/config.hpp"

namespace voxfork::dialplan {

// Empty when the pattern is well formed, otherwise why it is not.
std::string pattern_error(std::string_view pattern);

// How long the match is (the number of pattern positions, i.e. characters of
// `number` the pattern accounts for), or nullopt when `number` does not match
// `pattern` (an invalid pattern matches nothing).
std::optional<int> match(std::string_view pattern, std::string_view number);

// The dial-peer whose `incoming called-number` matches best (shutdown peers skipped).
const config::DialPeer* find_inbound(const config::Config& config, std::string_view called_number);
// The dial-peer whose `destination-pattern` matches best (shutdown peers skipped).
const config::DialPeer* find_outbound(const config::Config& config, std::string_view called_number);

}  // namespace voxfork::dialplan
