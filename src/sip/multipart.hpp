// multipart/mixed bodies (RFC 2046 section 5.1) split into their parts. Our
// own reading rather than sofia-sip's msg_multipart_parse, which asserts (the
// daemon aborts) on a NUL among a part's headers and leaks its work area on
// every body whose boundary it cannot find (both found by
// tests/fuzz/multipart_fuzz.cpp). Pure function on text; no SIP stack.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "stack.hpp"

namespace voxfork::sip::multipart {

// More parts than this make the body malformed: a SIP body carries an SDP
// and a few JSON parts at most.
inline constexpr std::size_t max_parts = 32;

// The boundary of a body whose Content-Type names none: the first line that
// starts with "--" followed by boundary characters. nullopt when none does.
std::optional<std::string_view> find_boundary(std::string_view body);

// The parts between the first delimiter and the close delimiter, each with
// its Content-Type (lower case, without parameters; parts without one are
// left out) and its content (the line break before the next delimiter
// belongs to the delimiter). nullopt when the body is malformed: no
// delimiter, no close delimiter, a delimiter line with anything but
// whitespace after it, or too many parts.
std::optional<std::vector<BodyPart>> split(std::string_view body, std::string_view boundary);

}  // namespace voxfork::sip::multipart
