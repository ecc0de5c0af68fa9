// Case-insensitive text of SIP and SDP (header names, tokens, encodings
// compare without regard to ASCII case).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace voxfork::sip {

inline std::string lower_case(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace voxfork::sip
