#include "upgrade.hpp"

#include <algorithm>
#include <cctype>

namespace voxfork::ws::detail {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_content_length(std::string_view name) {
    constexpr std::string_view wanted = "content-length";
    return name.size() == wanted.size() && std::equal(name.begin(), name.end(), wanted.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

// Every Content-Length of the header a number of at most `limit`.
bool lengths_within(std::string_view header, std::size_t limit) {
    for (std::size_t at = 0; at < header.size();) {
        std::size_t end = header.find("\r\n", at);
        if (end == std::string_view::npos) end = header.size();
        const std::string_view line = header.substr(at, end - at);
        at = end + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || !is_content_length(trim(line.substr(0, colon)))) continue;
        const std::string_view value = trim(line.substr(colon + 1));
        if (value.empty() || value.size() > 9) return false;
        std::size_t length = 0;
        for (char c : value) {
            if (c < '0' || c > '9') return false;
            length = length * 10 + static_cast<std::size_t>(c - '0');
        }
        if (length > limit) return false;
    }
    return true;
}

}  // namespace

bool UpgradeAnswerCheck::take(std::string_view bytes) {
    total_ += bytes.size();
    if (total_ > max_bytes) return false;
    if (header_read_) return true;
    header_.append(bytes);
    const std::size_t end = header_.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    header_read_ = true;
    header_.resize(end + 2);
    const bool ok = lengths_within(header_, max_bytes);
    header_ = std::string();
    return ok;
}

}  // namespace voxfork::ws::detail
