// Checks and conversions for the values that appear in commands: numbers,
// IPv4 addresses, names, and the keyword sets (codecs, cipher suites, ...).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "lexer.hpp"
#include "voxfork/config.hpp"

namespace voxfork::config::detail {

// Decimal digits only; values beyond 2^63 saturate (still "out of range").
std::optional<std::int64_t> parse_number(std::string_view text);

// Strict dotted quad: four decimal octets 0-255, no leading zeros, no blanks.
std::optional<std::uint32_t> parse_ipv4(std::string_view text);
bool is_contiguous_mask(std::uint32_t mask);

// A DNS name: labels of letters, digits, '-' and '_', 1-63 each, 253 in all.
bool is_dns_name(std::string_view text);
// A hostname or trustpoint name: 1-63 letters, digits, '-', '_' or '.'.
bool is_simple_name(std::string_view text);

// `HOST[:PORT]` split at the first colon; port nullopt when absent, 0 when invalid.
struct HostPort {
    std::string_view host;
    std::optional<std::uint32_t> port;
};
HostPort split_host_port(std::string_view text);

// The keyword sets, in the order voxforkd.conf(5) lists them.
inline constexpr std::array<std::pair<Codec, std::string_view>, 5> codec_names{{
    {Codec::g711ulaw, "g711ulaw"},
    {Codec::g711alaw, "g711alaw"},
    {Codec::g729, "g729"},
    {Codec::g722, "g722"},
    {Codec::opus, "opus"},
}};
inline constexpr std::array<std::pair<CipherSuite, std::string_view>, 6> cipher_names{{
    {CipherSuite::aes_128_cbc_sha, "aes-128-cbc-sha"},
    {CipherSuite::dhe_rsa_aes_cbc_sha2, "dhe-rsa-aes-cbc-sha2"},
    {CipherSuite::ecdhe_rsa_aes_cbc_sha2, "ecdhe-rsa-aes-cbc-sha2"},
    {CipherSuite::rsa_aes_cbc_sha2, "rsa-aes-cbc-sha2"},
    {CipherSuite::ecdhe_ecdsa_aes_gcm_sha2, "ecdhe-ecdsa-aes-gcm-sha2"},
    {CipherSuite::ecdhe_rsa_aes_gcm_sha2, "ecdhe-rsa-aes-gcm-sha2"},
}};
inline constexpr std::array<std::pair<StreamProtocol, std::string_view>, 3> protocol_names{{
    {StreamProtocol::voxfork_v1, "voxfork-v1"},
    {StreamProtocol::audiohook, "audiohook"},
    {StreamProtocol::raw, "raw"},
}};
inline constexpr std::array<std::pair<RawLayout, std::string_view>, 2> raw_layout_names{{
    {RawLayout::separate, "separate"},
    {RawLayout::interleaved, "interleaved"},
}};
inline constexpr std::array<std::pair<Transport, std::string_view>, 2> transport_names{{
    {Transport::udp, "udp"},
    {Transport::tcp, "tcp"},
}};
inline constexpr std::array<std::pair<RtpLatching, std::string_view>, 2> latching_names{{
    {RtpLatching::learn, "learn"},
    {RtpLatching::strict, "strict"},
}};
inline constexpr std::array<std::pair<LogLevel, std::string_view>, 4> log_level_names{{
    {LogLevel::debug, "debug"},
    {LogLevel::info, "info"},
    {LogLevel::warning, "warning"},
    {LogLevel::error, "error"},
}};

template <typename Enum, std::size_t N>
std::optional<Enum> from_name(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view word) {
    for (const auto& [value, name] : table)
        if (same_word(name, word)) return value;
    return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
    for (const auto& [v, name] : table)
        if (v == value) return name;
    return "?";
}

// "a, b or c": the choices of a keyword set, for error messages.
template <typename Enum, std::size_t N>
std::string choices(const std::array<std::pair<Enum, std::string_view>, N>& table) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) out += (i + 1 == N) ? " or " : ", ";
        out += table[i].second;
    }
    return out;
}

}  // namespace voxfork::config::detail
