#include "values.hpp"

#include <limits>
#include <string>

namespace voxfork::config::detail {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::optional<std::int64_t> parse_number(std::string_view text) {
    if (text.empty()) return std::nullopt;
    constexpr auto limit = std::numeric_limits<std::int64_t>::max() / 10 - 1;
    std::int64_t value = 0;
    for (char c : text) {
        if (!is_digit(c)) return std::nullopt;
        value = value > limit ? limit * 10 : value * 10 + (c - '0');
    }
    return value;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
    std::uint32_t address = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (text.empty() || text.front() != '.') return std::nullopt;
            text.remove_prefix(1);
        }
        std::size_t len = 0;
        while (len < text.size() && len < 4 && is_digit(text[len])) ++len;
        if (len == 0 || len > 3 || (len > 1 && text.front() == '0')) return std::nullopt;
        const auto value = parse_number(text.substr(0, len));
        if (!value || *value > 255) return std::nullopt;
        address = (address << 8) | static_cast<std::uint32_t>(*value);
        text.remove_prefix(len);
    }
    if (!text.empty()) return std::nullopt;
    return address;
}

bool is_contiguous_mask(std::uint32_t mask) {
    // A contiguous mask is ones then zeros: its complement plus one is a power of two.
    const std::uint32_t inverted = ~mask;
    return (inverted & (inverted + 1)) == 0;
}

bool is_dns_name(std::string_view text) {
    if (text.empty() || text.size() > 253) return false;
    if (text.back() == '.') text.remove_suffix(1);  // a rooted name
    std::size_t label = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '.') {
            if (label == 0 || label > 63) return false;
            if (text[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        const char c = text[i];
        if (!(is_alnum(c) || c == '_' || (c == '-' && label > 0))) return false;
        ++label;
    }
    return true;
}

bool is_simple_name(std::string_view text) {
    if (text.empty() || text.size() > 63) return false;
    for (char c : text)
        if (!(is_alnum(c) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

HostPort split_host_port(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return {text, std::nullopt};
    const auto port = parse_number(text.substr(colon + 1));
    const bool valid = port && *port >= 1 && *port <= 65535;
    return {text.substr(0, colon), valid ? static_cast<std::uint32_t>(*port) : 0u};
}

}  // namespace voxfork::config::detail

namespace voxfork::config {

std::string_view to_string(SessionTarget::Kind kind) {
    switch (kind) {
        case SessionTarget::Kind::ipv4: return "ipv4";
        case SessionTarget::Kind::ipv6: return "ipv6";
        case SessionTarget::Kind::dns: return "dns";
    }
    return "dns";
}

std::string to_string(const SessionTarget& target) {
    std::string text(to_string(target.kind));
    text += ':';
    text += target.kind == SessionTarget::Kind::ipv6 ? "[" + target.host + "]" : target.host;
    if (target.port != 5060) text += ":" + std::to_string(target.port);
    return text;
}

std::string_view to_string(Codec value) {
    return detail::name_of(detail::codec_names, value);
}
std::string_view to_string(CipherSuite value) {
    return detail::name_of(detail::cipher_names, value);
}
std::string_view to_string(StreamProtocol value) {
    return detail::name_of(detail::protocol_names, value);
}
std::string_view to_string(RawLayout value) {
    return detail::name_of(detail::raw_layout_names, value);
}
std::string_view to_string(Transport value) {
    return detail::name_of(detail::transport_names, value);
}
std::string_view to_string(RtpLatching value) {
    return detail::name_of(detail::latching_names, value);
}
std::string_view to_string(LogLevel value) {
    return detail::name_of(detail::log_level_names, value);
}

std::string format_ipv4(std::uint32_t a) {
    return std::to_string(a >> 24) + '.' + std::to_string((a >> 16) & 0xff) + '.' + std::to_string((a >> 8) & 0xff) +
           '.' + std::to_string(a & 0xff);
}

}  // namespace voxfork::config
