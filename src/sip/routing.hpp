// Who may call in, and where an outbound dial-peer sends its INVITE.
// Pure functions of the configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "voxfork/config.hpp"

namespace voxfork::sip::routing {

// `ip address trusted list`; when it is empty, the session-target addresses
// of the dial-peers not shut down (ipv4 targets, and dns targets that `ip
// host` names, matched case-insensitively; names only DNS knows are not
// trusted: that would mean a lookup per INVITE).
bool is_trusted(const config::Config& config, std::uint32_t source_ip);

// Where a dial-peer's INVITE goes. `ip` is 0 when `host` still needs DNS.
struct Target {
    std::string host;  // as configured
    std::uint32_t ip = 0;
    std::uint16_t port = 5060;
    bool tcp = false;
};
std::optional<Target> target_of(const config::Config& config, const config::DialPeer& peer);

// sip:USER@ADDR:PORT[;transport=tcp]
std::string request_uri(std::string_view user, std::uint32_t ip, std::uint16_t port, bool tcp);

}  // namespace voxfork::sip::routing
