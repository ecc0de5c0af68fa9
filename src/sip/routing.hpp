// Who may call in, and where an outbound dial-peer sends its INVITE.
// Pure functions of the configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "voxfork/config.hpp"
#include "voxfork/net.hpp"

namespace voxfork::sip::routing {

// `ip address trusted list`; when it is empty, the session-target addresses
// of the dial-peers not shut down: ipv4 and ipv6 targets, dns targets that
// `ip host` names (matched case-insensitively, either family), and
// `dns_addresses`, what DNS answered (AAAA and A) for the others when they
// were last looked up (dns_only_targets()). An address matches its own
// family only: an IPv4 source is never an IPv6 target's v4-mapped form.
bool is_trusted(const config::Config& config, const net::Address& source,
                const std::set<net::Address>& dns_addresses);

// The `dns:` session targets of the dial-peers not shut down that `ip host`
// does not name: the ones whose address only DNS knows.
std::vector<std::string> dns_only_targets(const config::Config& config);

// Where a dial-peer's INVITE goes. No `address` when `host` still needs
// DNS; otherwise leg B is of the address's family.
struct Target {
    std::string host;  // as configured (an ipv6: target's without brackets)
    std::optional<net::Address> address;
    std::uint16_t port = 5060;
    bool tcp = false;
};
std::optional<Target> target_of(const config::Config& config, const config::DialPeer& peer);

// sip:USER@ADDR:PORT[;transport=tcp], an IPv6 ADDR in brackets.
std::string request_uri(std::string_view user, const net::Address& address, std::uint16_t port, bool tcp);

}  // namespace voxfork::sip::routing
