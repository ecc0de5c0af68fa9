// Global commands and the voice service voip sub-modes (trusted list, sip).
// Repeated single-valued commands: the last one wins. `no` of a single-valued
// command ignores any arguments after its keywords and restores the default.
#include <algorithm>

#include "commands.hpp"

namespace voxfork::config::detail {
namespace {

VoipService& voip(const Context& c) {
    return c.config.voip;
}

// `ip name-server` entries: `ADDR[:PORT]` for IPv4, `IPV6ADDR`, `[IPV6ADDR]`
// or `[IPV6ADDR]:PORT` for IPv6 (brackets when a port follows, as in a URI).
std::optional<NameServer> name_server(const Context& c, std::size_t index) {
    const auto word = c.args[index];
    std::optional<NameServer> server;
    if (const auto bare = net::Address::parse(word)) {
        server = NameServer{*bare, kNameServerPort};
    } else if (word.size() > 2 && word.front() == '[' && word.back() == ']') {
        if (const auto address = net::Address::parse(word.substr(1, word.size() - 2)); address && address->is_v6())
            server = NameServer{*address, kNameServerPort};
    } else {
        server = net::Endpoint::parse(word);
    }
    if (!server) {
        c.error("invalid name server \"" + std::string(word) + "\" for \"" + std::string(c.name) +
                "\" (expected ADDR or ADDR:PORT, an IPv6 ADDR in brackets when a PORT follows, PORT 1-65535)");
        return std::nullopt;
    }
    return server;
}

std::optional<std::vector<NameServer>> name_servers(const Context& c) {
    std::vector<NameServer> list;
    bool good = true;
    for (std::size_t i = 0; i < c.args.size(); ++i) {
        if (auto server = name_server(c, i))
            list.push_back(*server);
        else
            good = false;
    }
    if (!good) return std::nullopt;
    return list;
}

// `ipv4 ADDR [MASK]` of the trusted list: the network ADDR & MASK.
std::optional<net::Network> trusted_ipv4(const Context& c) {
    if (!c.at_most(2)) return std::nullopt;
    const auto address = c.ipv4(0, "ADDR");
    if (!address) return std::nullopt;
    std::uint32_t mask = 0xffffffffu;
    if (c.args.size() > 1) {
        const auto m = c.ipv4(1, "MASK");
        if (!m) return std::nullopt;
        if (!is_contiguous_mask(*m)) {
            c.error("invalid MASK \"" + std::string(c.args[1]) + "\" for \"ipv4\" (the one bits must be contiguous)");
            return std::nullopt;
        }
        mask = *m;
    }
    // As on IOS, host bits are accepted: `ipv4 127.0.0.1 255.0.0.0` is the
    // network 127.0.0.0/8, stored (and shown) as such.
    return net::Network::from_ipv4_mask(*address, mask)->without_host_bits();
}

// `ipv6 PREFIX[/LEN]` of the trusted list (a bare address is a /128); host
// bits cleared as for ipv4.
std::optional<net::Network> trusted_ipv6(const Context& c) {
    if (!c.at_most(1)) return std::nullopt;
    const auto word = c.arg(0, "PREFIX");
    if (!word) return std::nullopt;
    const auto network = net::Network::parse(*word);
    if (!network || !network->address.is_v6()) {
        c.error("invalid PREFIX \"" + std::string(*word) + "\" for \"ipv6\" (expected an IPv6 address or "
                "prefix like 2001:db8::/32, length 0-128)");
        return std::nullopt;
    }
    return network->without_host_bits();
}

// Adds or, for `no`, removes a trusted-list entry; an entry already there is not added twice.
void add_trusted(const Context& c, const std::optional<net::Network>& network) {
    auto& list = voip(c).trusted;
    if (network && std::find(list.begin(), list.end(), *network) == list.end()) list.push_back(*network);
}

void remove_trusted(const Context& c, const std::optional<net::Network>& network) {
    if (network) std::erase(voip(c).trusted, *network);
}

void set_rtp_port_range(const Context& c) {
    if (!c.exactly(2, "MIN MAX")) return;
    const auto min = c.number(0, "MIN", 1024, 65534);
    const auto max = c.number(1, "MAX", 1024, 65534);
    if (!min || !max) return;
    // RTP takes the even ports of the range and RTCP the odd port above each,
    // so MIN must be even while MAX may be odd (the default 16384 32767).
    if (*min % 2 != 0)
        return c.error("MIN " + std::to_string(*min) + " for \"rtp-port range\" must be even (RTP uses even ports)");
    if (*min >= *max)
        return c.error("MIN " + std::to_string(*min) + " must be less than MAX " + std::to_string(*max) +
                       " for \"rtp-port range\"");
    voip(c).rtp_port_min = static_cast<std::uint16_t>(*min);
    voip(c).rtp_port_max = static_cast<std::uint16_t>(*max);
}

// One address per family: an IPv6 address sets the IPv6 one, an IPv4
// address the IPv4 one, each replacing the earlier of its family. Kept in
// the canonical text, so that `::0:1` and `::1` are one address.
void set_bind(const Context& c, bool control) {
    if (!c.exactly(1, "ADDR")) return;
    const auto address = c.ip_address(0, "ADDR");
    if (!address) return;
    auto& sip = voip(c).sip;
    const std::string text = address->to_string();
    if (address->is_v6())
        (control ? sip.control_address_ipv6 : sip.media_address_ipv6) = text;
    else if (control)
        sip.control_address = text;
    else
        sip.media_address = text;
}

// `no bind ... source-address` puts both families back to the default;
// with an ADDR, only that address's family.
void unset_bind(const Context& c, bool control) {
    if (!c.at_most(1)) return;
    auto& sip = voip(c).sip;
    std::optional<net::Address> address;
    if (!c.args.empty() && !(address = c.ip_address(0, "ADDR"))) return;
    const bool v4 = !address || address->is_v4(), v6 = !address || address->is_v6();
    if (v4 && control) sip.control_address = SipSettings{}.control_address;
    if (v4 && !control) sip.media_address.reset();
    if (v6) (control ? sip.control_address_ipv6 : sip.media_address_ipv6).reset();
}

constexpr CommandSpec commands[] = {
    {Mode::global, "hostname",
     [](const Context& c) {
         if (!c.exactly(1, "NAME")) return;
         if (auto name = c.simple_name(0, "NAME")) c.config.hostname = *name;
     },
     [](const Context& c) { c.config.hostname = Config{}.hostname; }},

    {Mode::global, "voice service voip",
     [](const Context& c) {
         if (c.at_most(0)) c.open(Mode::voip);
     },
     [](const Context& c) { c.config.voip = VoipService{}; }},

    {Mode::global, "ip host",
     [](const Context& c) {
         if (!c.exactly(2, "NAME ADDR")) return;
         const auto name = c.dns_name(0, "NAME");
         const auto address = c.ip_address(1, "ADDR");
         // Host names are case-insensitive: one entry per name whatever its spelling.
         if (name && address) c.config.ip_hosts[normalize_host_name(*name)] = *address;
     },
     [](const Context& c) {
         if (!c.at_most(2)) return;
         if (const auto name = c.arg(0, "NAME")) c.config.ip_hosts.erase(normalize_host_name(*name));
     }},

    // Repeated lines append (duplicates are ignored), as on IOS.
    {Mode::global, "ip name-server",
     [](const Context& c) {
         if (!c.arg(0, "ADDR")) return;
         const auto list = name_servers(c);
         if (!list) return;
         auto& servers = c.config.name_servers;
         for (const auto& server : *list)
             if (std::find(servers.begin(), servers.end(), server) == servers.end()) servers.push_back(server);
     },
     [](const Context& c) {
         auto& servers = c.config.name_servers;
         if (c.args.empty()) return servers.clear();
         const auto list = name_servers(c);
         if (!list) return;
         for (const auto& server : *list) std::erase(servers, server);
     }},

    {Mode::global, "http client secure-trustpoint",
     [](const Context& c) {
         if (!c.exactly(1, "NAME")) return;
         if (const auto name = c.simple_name(0, "NAME")) {
             c.config.http_client_secure_trustpoint = *name;
             c.state.secure_trustpoint_line = c.line.number;
         }
     },
     [](const Context& c) {
         c.config.http_client_secure_trustpoint.reset();
         c.state.secure_trustpoint_line = 0;
     }},

    {Mode::global, "license usage interval",
     [](const Context& c) {
         if (!c.exactly(1, "SECONDS")) return;
         if (const auto seconds = c.number(0, "SECONDS", 10, 86400))
             c.config.license_usage_interval_seconds = static_cast<int>(*seconds);
     },
     [](const Context& c) { c.config.license_usage_interval_seconds = Config{}.license_usage_interval_seconds; }},

    {Mode::global, "control-socket",
     [](const Context& c) {
         // The rest of the line: a path may hold blanks.
         auto path = c.text(0, "PATH");
         if (!path) return;
         // sun_path holds 108 bytes including the terminating NUL.
         if (path->size() > 107)
             return c.error("PATH for \"control-socket\" is too long (" + std::to_string(path->size()) +
                            " characters, a Unix socket path holds at most 107)");
         c.config.control_socket = std::move(*path);
     },
     [](const Context& c) { c.config.control_socket = Config{}.control_socket; }},

    // ADDR:PORT, or PORT alone for the loopback address: an endpoint that
    // answers anyone who can reach it is opened on purpose, never by default.
    {Mode::global, "metrics listen",
     [](const Context& c) {
         if (!c.exactly(1, "ADDR:PORT")) return;
         const auto word = c.args[0];
         const auto [host, port] = split_host_port(word);
         std::optional<std::uint32_t> address = MetricsListen{}.address;
         std::optional<std::uint32_t> number;
         if (port) {
             address = parse_ipv4(host);
             number = *port;
         } else if (const auto alone = parse_number(host); alone && *alone <= 65535) {
             number = static_cast<std::uint32_t>(*alone);
         }
         if (!address || !number || *number == 0 || *number > 65535)
             return c.error("invalid address \"" + std::string(word) +
                            "\" for \"metrics listen\" (expected ADDR:PORT or PORT, PORT 1-65535)");
         c.config.metrics_listen = MetricsListen{*address, static_cast<std::uint16_t>(*number)};
     },
     [](const Context& c) { c.config.metrics_listen.reset(); }},

    {Mode::global, "logging level",
     [](const Context& c) {
         if (!c.exactly(1, "LEVEL")) return;
         if (const auto level = c.choice(0, "level", log_level_names)) c.config.logging_level = *level;
     },
     [](const Context& c) { c.config.logging_level = Config{}.logging_level; }},

    {Mode::voip, "rtp-port range", set_rtp_port_range,
     [](const Context& c) {
         voip(c).rtp_port_min = VoipService{}.rtp_port_min;
         voip(c).rtp_port_max = VoipService{}.rtp_port_max;
     }},

    {Mode::voip, "ip address trusted list",
     [](const Context& c) {
         if (c.at_most(0)) c.open(Mode::trusted);
     },
     [](const Context& c) { voip(c).trusted.clear(); }},

    {Mode::voip, "sip",
     [](const Context& c) {
         if (c.at_most(0)) c.open(Mode::sip);
     },
     [](const Context& c) { voip(c).sip = SipSettings{}; }},

    {Mode::trusted, "ipv4", [](const Context& c) { add_trusted(c, trusted_ipv4(c)); },
     [](const Context& c) { remove_trusted(c, trusted_ipv4(c)); }},

    {Mode::trusted, "ipv6", [](const Context& c) { add_trusted(c, trusted_ipv6(c)); },
     [](const Context& c) { remove_trusted(c, trusted_ipv6(c)); }},

    {Mode::sip, "bind control source-address", [](const Context& c) { set_bind(c, true); },
     [](const Context& c) { unset_bind(c, true); }},

    {Mode::sip, "bind media source-address", [](const Context& c) { set_bind(c, false); },
     [](const Context& c) { unset_bind(c, false); }},

    {Mode::sip, "listen-port non-secure",
     [](const Context& c) {
         if (!c.exactly(1, "PORT")) return;
         if (const auto port = c.port(0)) voip(c).sip.listen_port = *port;
     },
     [](const Context& c) { voip(c).sip.listen_port = SipSettings{}.listen_port; }},
};

}  // namespace

std::span<const CommandSpec> global_commands() {
    return commands;
}

}  // namespace voxfork::config::detail
