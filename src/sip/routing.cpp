#include "routing.hpp"

#include <algorithm>

#include "sdp.hpp"

namespace voxfork::sip::routing {
namespace {

std::optional<std::uint32_t> address_of(const config::Config& config, const config::SessionTarget& target) {
    if (target.kind == config::SessionTarget::Kind::ipv4) return sdp::parse_ipv4(target.host);
    // SIP reaches IPv4 peers only so far: an IPv6 `ip host` entry is no address for it.
    const auto address = config.ip_host(target.host);
    if (!address || !address->is_v4()) return std::nullopt;
    return address->v4_host_order();
}

}  // namespace

bool is_trusted(const config::Config& config, const net::Address& source,
                const std::set<std::uint32_t>& dns_addresses) {
    if (!config.voip.trusted.empty()) {
        return std::any_of(config.voip.trusted.begin(), config.voip.trusted.end(),
                           [&](const net::Network& network) { return network.contains(source); });
    }
    // A shut-down dial-peer is not used, so its target is no reason to trust anyone.
    for (const auto& [tag, peer] : config.dial_peers) {
        if (peer.shutdown || !peer.session_target) continue;
        if (peer.session_target->kind == config::SessionTarget::Kind::ipv6) {
            if (net::Address::parse(peer.session_target->host) == source) return true;
            continue;
        }
        if (source.is_v4() && address_of(config, *peer.session_target) == source.v4_host_order()) return true;
    }
    return source.is_v4() && dns_addresses.contains(source.v4_host_order());
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
    if (peer.session_target->kind == config::SessionTarget::Kind::ipv6) {
        t.family = net::Family::v6;
        t.address = net::Address::parse(t.host);
    } else if (const auto ip = address_of(config, *peer.session_target)) {
        t.address = net::Address::v4(*ip);
    }
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
