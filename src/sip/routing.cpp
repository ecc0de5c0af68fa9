#include "routing.hpp"

#include <algorithm>

namespace voxfork::sip::routing {
namespace {

// A target's address without DNS: the literal of an ipv4: or ipv6: target,
// the `ip host` entry (either family) of a dns: one.
std::optional<net::Address> address_of(const config::Config& config, const config::SessionTarget& target) {
    if (target.kind == config::SessionTarget::Kind::dns) return config.ip_host(target.host);
    return net::Address::parse(target.host);
}

}  // namespace

bool is_trusted(const config::Config& config, const net::Address& source,
                const std::set<net::Address>& dns_addresses) {
    if (!config.voip.trusted.empty()) {
        return std::any_of(config.voip.trusted.begin(), config.voip.trusted.end(),
                           [&](const net::Network& network) { return network.contains(source); });
    }
    // A shut-down dial-peer is not used, so its target is no reason to trust anyone.
    for (const auto& [tag, peer] : config.dial_peers) {
        if (peer.shutdown || !peer.session_target) continue;
        if (address_of(config, *peer.session_target) == source) return true;
    }
    return dns_addresses.contains(source);
}

std::vector<std::string> dns_only_targets(const config::Config& config) {
    std::vector<std::string> hosts;
    for (const auto& [tag, peer] : config.dial_peers) {
        if (peer.shutdown || !peer.session_target || peer.session_target->kind != config::SessionTarget::Kind::dns)
            continue;
        if (!address_of(config, *peer.session_target)) hosts.push_back(peer.session_target->host);
    }
    return hosts;
}

std::optional<Target> target_of(const config::Config& config, const config::DialPeer& peer) {
    if (!peer.session_target) return std::nullopt;
    Target t;
    t.host = peer.session_target->host;
    t.port = peer.session_target->port;
    t.tcp = peer.transport == config::Transport::tcp;
    t.address = address_of(config, *peer.session_target);
    return t;
}

std::string request_uri(std::string_view user, const net::Address& address, std::uint16_t port, bool tcp) {
    std::string uri = "sip:";
    if (!user.empty()) {
        uri += user;
        uri += '@';
    }
    uri += address.to_uri_host() + ":" + std::to_string(port);
    if (tcp) uri += ";transport=tcp";
    return uri;
}

}  // namespace voxfork::sip::routing
