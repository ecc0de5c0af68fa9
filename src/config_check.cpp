#include "config_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace voxfork {
namespace {

std::string lowered(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// A line's words, blanks collapsed, without a trailing `!` comment.
std::string words_of(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string words;
    for (std::string word; in >> word;) {
        if (word.starts_with('!')) break;
        words += (words.empty() ? "" : " ") + word;
    }
    return words;
}

// The line of the last `command` (its keywords) in the top-level block that
// `opener` begins, or 0 when there is none. The file parsed, so its blocks
// are well formed: a line at indentation 0 opens the next block.
int line_of(std::string_view text, std::string_view opener, std::string_view command) {
    const std::string wanted_block = lowered(opener), wanted = lowered(command);
    std::istringstream in{std::string(text)};
    std::string block;
    int found = 0, number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const std::string words = lowered(words_of(line));
        if (words.empty()) continue;
        if (line[0] != ' ') block = words;
        const bool in_block = block == wanted_block || block.starts_with(wanted_block + " ");
        if (in_block && (words == wanted || words.starts_with(wanted + " "))) found = number;
    }
    return found;
}

// The CA bundle is read when the first wss:// connection needs it; a typo
// would show only then, as a failed fork. Here it shows before the start.
void check_ca_files(const config::Config& config, const std::string& path, std::string_view text,
                    std::vector<config::ConfigError>& errors) {
    namespace fs = std::filesystem;
    for (const auto& [name, trustpoint] : config.trustpoints) {
        if (!trustpoint.ca_file) continue;
        const std::string& file = *trustpoint.ca_file;
        const int line = line_of(text, "crypto pki trustpoint " + name, "ca-file");
        auto fail = [&](const std::string& why) {
            errors.push_back({path, line, "trustpoint " + name + ": ca-file " + file + ": " + why});
        };
        std::error_code ec;
        const auto status = fs::status(file, ec);
        if (ec || !fs::exists(status)) {
            fail(ec ? ec.message() : "No such file or directory");
            continue;
        }
        if (!fs::is_regular_file(status)) {
            fail("not a regular file");
            continue;
        }
        // access() answers for the user that runs the check: under systemd,
        // ExecStartPre= runs as the daemon's own user.
        if (::access(file.c_str(), R_OK) != 0) {
            fail(std::strerror(errno));
            continue;
        }
        std::ifstream in(file);
        const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (content.find("-----BEGIN CERTIFICATE-----") == std::string::npos) fail("holds no PEM certificate");
    }
}

// SIP and RTP share the host's ports when they bind the same address (or
// either binds every address): the SIP port must lie outside the RTP range,
// RTCP's odd port above its top included.
void check_ports(const config::Config& config, const std::string& path, std::string_view text,
                 std::vector<config::ConfigError>& errors) {
    const auto& voip = config.voip;
    const auto& sip = voip.sip;
    const unsigned rtp_top = voip.rtp_port_max | 1u;
    if (sip.listen_port < voip.rtp_port_min || sip.listen_port > rtp_top) return;
    // Each family on its own: SIP on 127.0.0.1 and RTP on ::1 never share a port.
    const auto clash = [&](const std::optional<std::string>& control, const std::optional<std::string>& media,
                           const char* any) {
        return control && media && (*media == *control || *media == any || *control == any);
    };
    std::optional<std::string> on;
    if (clash(sip.control_address, sip.effective_media_address(), "0.0.0.0"))
        on = sip.effective_media_address();
    else if (clash(sip.control_address_ipv6, sip.effective_media_address_ipv6(), "::"))
        on = sip.effective_media_address_ipv6();
    if (!on) return;
    int line = line_of(text, "voice service voip", "listen-port non-secure");
    if (line == 0) line = line_of(text, "voice service voip", "rtp-port range");
    errors.push_back({path, line,
                      "SIP port " + std::to_string(sip.listen_port) + " lies in the RTP and RTCP ports " +
                          std::to_string(voip.rtp_port_min) + "-" + std::to_string(rtp_top) + " on " + *on});
}

// The metrics endpoint binds a TCP port: the SIP port (UDP and TCP) and the
// RTP range on an address it shares would make one of them fail to start.
void check_metrics_port(const config::Config& config, const std::string& path, std::string_view text,
                        std::vector<config::ConfigError>& errors) {
    if (!config.metrics_listen) return;
    const auto& voip = config.voip;
    const std::string metrics = config::format_ipv4(config.metrics_listen->address);
    const unsigned port = config.metrics_listen->port;
    auto shares = [&](const std::string& other) { return other == metrics || other == "0.0.0.0" || metrics == "0.0.0.0"; };
    std::string clash;
    if (shares(voip.sip.control_address) && port == voip.sip.listen_port)
        clash = "is the SIP port on " + voip.sip.control_address;
    else if (shares(voip.sip.effective_media_address()) && port >= voip.rtp_port_min && port <= (voip.rtp_port_max | 1u))
        clash = "lies in the RTP and RTCP ports " + std::to_string(voip.rtp_port_min) + "-" +
                std::to_string(voip.rtp_port_max | 1u) + " on " + voip.sip.effective_media_address();
    if (clash.empty()) return;
    errors.push_back({path, line_of(text, "metrics listen", "metrics listen"),
                      "metrics port " + std::to_string(port) + " " + clash});
}

// An ipv6: session target makes the call's outbound leg IPv6: the relay
// needs an IPv6 address to anchor it on, or every such call fails.
void check_ipv6_targets(const config::Config& config, const std::string& path, std::string_view text,
                        std::vector<config::ConfigError>& errors) {
    if (config.voip.sip.effective_media_address_ipv6()) return;
    for (const auto& [tag, peer] : config.dial_peers) {
        if (!peer.session_target || peer.session_target->kind != config::SessionTarget::Kind::ipv6) continue;
        errors.push_back({path, line_of(text, "dial-peer voice " + std::to_string(tag), "session target"),
                          "dial-peer " + std::to_string(tag) + ": session target " +
                              config::to_string(*peer.session_target) +
                              " needs an IPv6 media address (bind media source-address or bind control "
                              "source-address with an IPv6 address)"});
    }
}

}  // namespace

std::vector<config::ConfigError> check_meaning(const config::Config& config, const std::string& path,
                                               std::string_view text) {
    std::vector<config::ConfigError> errors;
    check_ports(config, path, text, errors);
    check_metrics_port(config, path, text, errors);
    check_ipv6_targets(config, path, text, errors);
    check_ca_files(config, path, text, errors);
    std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
    return errors;
}

}  // namespace voxfork
