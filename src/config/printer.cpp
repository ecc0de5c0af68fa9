// `show running-config`: the configuration in file syntax, defaults omitted
// (or spelled out, for `show running-config all`), blocks separated by `!` as
// IOS does, `end` last. Block order is the one docs/configuration.md gives
// ("`show running-config`"); within a block, the order IOS prints dial-peers in.
#include <sstream>

#include "commands.hpp"

namespace voxfork::config {
namespace {

void print_voip(std::ostream& out, const VoipService& voip, bool all) {
    const VoipService defaults;
    out << "voice service voip\n";
    if (all || voip.rtp_port_min != defaults.rtp_port_min || voip.rtp_port_max != defaults.rtp_port_max)
        out << " rtp-port range " << voip.rtp_port_min << ' ' << voip.rtp_port_max << '\n';
    if (!voip.trusted.empty()) {
        out << " ip address trusted list\n";
        for (const auto& network : voip.trusted) {
            if (network.address.is_v6()) {
                out << "  ipv6 " << network.to_string() << '\n';
                continue;
            }
            out << "  ipv4 " << network.address.to_string();
            if (network.prefix_length != 32) out << ' ' << format_ipv4(network.ipv4_mask());
            out << '\n';
        }
    }
    const SipSettings& sip = voip.sip;
    if (all || sip != defaults.sip) {
        out << " sip\n";
        if (all || sip.control_address != defaults.sip.control_address)
            out << "  bind control source-address " << sip.control_address << '\n';
        if (sip.control_address_ipv6) out << "  bind control source-address " << *sip.control_address_ipv6 << '\n';
        if (all || sip.media_address) out << "  bind media source-address " << sip.effective_media_address() << '\n';
        if (sip.media_address_ipv6 || (all && sip.effective_media_address_ipv6()))
            out << "  bind media source-address " << *sip.effective_media_address_ipv6() << '\n';
        if (all || sip.listen_port != defaults.sip.listen_port)
            out << "  listen-port non-secure " << sip.listen_port << '\n';
    }
}


void print_profile(std::ostream& out, const StreamServiceProfile& p, Secrets secrets, bool all) {
    const StreamServiceProfile defaults;
    out << "media profile stream-service " << p.tag << '\n';
    if (!p.description.empty()) out << " description " << p.description << '\n';
    if (all || p.calls_threshold != defaults.calls_threshold)
        out << " connection calls-threshold " << p.calls_threshold << '\n';
    if (all || p.idle_timeout_minutes != defaults.idle_timeout_minutes)
        out << " connection idle-timeout " << p.idle_timeout_minutes << '\n';
    if (!p.ciphersuites.empty()) {
        out << " secure-ciphersuite";
        for (const auto suite : p.ciphersuites) out << ' ' << to_string(suite);
        out << '\n';
    } else if (all) {
        out << " secure-ciphersuite";
        for (const auto& [suite, name] : detail::cipher_names) out << ' ' << name;
        out << '\n';
    }
    if (p.allow_tls13)
        out << " tls-version 1.2 1.3\n";
    else if (all)
        out << " tls-version 1.2\n";
    if (p.proxy)
        out << " proxy " << (p.proxy->is_ip ? "ip " : "host ") << p.proxy->host << " port " << p.proxy->port << '\n';
    if (p.source_ip) out << " source-ip " << *p.source_ip << '\n';
    if (all || p.protocol != defaults.protocol) out << " protocol " << to_string(p.protocol) << '\n';
    if (all || p.audiohook_organization_id != defaults.audiohook_organization_id)
        out << " audiohook organization-id " << p.audiohook_organization_id << '\n';
    // `show running-config` shows it masked (voxforkd.conf(5)), as a token is shown: never whole.
    if (!p.audiohook_client_secret.empty())
        out << " audiohook client-secret "
            << (secrets == Secrets::masked ? mask_secret(p.audiohook_client_secret) : p.audiohook_client_secret)
            << '\n';
    if (all || p.raw_layout != defaults.raw_layout) out << " raw layout " << to_string(p.raw_layout) << '\n';
    if (all || p.raw_auth_scheme != defaults.raw_auth_scheme) out << " raw auth-scheme " << p.raw_auth_scheme << '\n';
    if (!p.raw_stop_message.empty()) out << " raw stop-message " << p.raw_stop_message << '\n';
    if (!p.raw_keepalive_message.empty()) out << " raw keepalive-message " << p.raw_keepalive_message << '\n';
    if (all || p.reconnect_window_seconds != defaults.reconnect_window_seconds)
        out << " connection reconnect window " << p.reconnect_window_seconds << '\n';
}

void print_trustpoint(std::ostream& out, const Trustpoint& t) {
    out << "crypto pki trustpoint " << t.name << '\n';
    if (t.enrollment_terminal || t.enrollment_pem)
        out << " enrollment terminal" << (t.enrollment_pem ? " pem" : "") << '\n';
    if (t.serial_number) out << " serial-number\n";
    if (t.subject_name) out << " subject-name " << *t.subject_name << '\n';
    if (t.revocation_check_none) out << " revocation-check none\n";
    if (t.ca_file) out << " ca-file " << *t.ca_file << '\n';
}

void print_dial_peer(std::ostream& out, const DialPeer& d, bool all) {
    out << "dial-peer voice " << d.tag << " voip\n";
    if (!d.description.empty()) out << " description " << d.description << '\n';
    if (d.destination_pattern) out << " destination-pattern " << *d.destination_pattern << '\n';
    if (d.session_protocol_sipv2) out << " session protocol sipv2\n";
    if (const auto& t = d.session_target) out << " session target " << to_string(*t) << '\n';
    if (all || d.transport != DialPeer{}.transport) out << " session transport " << to_string(d.transport) << '\n';
    if (all || d.rtp_latching != DialPeer{}.rtp_latching)
        out << " rtp latching " << to_string(d.rtp_latching) << '\n';
    if (d.incoming_called_number) out << " incoming called-number " << *d.incoming_called_number << '\n';
    if (d.media_class) out << " media-class " << *d.media_class << '\n';
    if (d.codec) out << " codec " << to_string(*d.codec) << '\n';
    if (d.dtmf_relay_rtp_nte) out << " dtmf-relay rtp-nte\n";
    if (d.shutdown) out << " shutdown\n";
}

// Each block is written whole, then closed with `!`.
class Blocks {
public:
    std::ostream& next() {
        if (started_) out_ << "!\n";
        started_ = true;
        return out_;
    }
    std::string finish() {
        if (started_) out_ << "!\n";
        out_ << "end\n";
        return out_.str();
    }

private:
    std::ostringstream out_;
    bool started_ = false;
};

}  // namespace

std::string mask_secret(std::string_view secret) {
    return std::string(secret.substr(0, 8)) + "****";
}

std::string print(const Config& config, Secrets secrets, Defaults defaults_are) {
    const bool all = defaults_are == Defaults::shown;
    // A value spelled out as its default is printed as the default: not at all.
    Config c = config;
    detail::drop_explicit_defaults(c);
    const Config defaults;
    Blocks blocks;
    if (all || c.hostname != defaults.hostname) blocks.next() << "hostname " << c.hostname << '\n';
    if (all || c.voip != defaults.voip) print_voip(blocks.next(), c.voip, all);
    if (!c.ip_hosts.empty() || !c.name_servers.empty()) {
        auto& out = blocks.next();
        for (const auto& [name, address] : c.ip_hosts) out << "ip host " << name << ' ' << address.to_string() << '\n';
        if (!c.name_servers.empty()) {
            out << "ip name-server";
            for (const auto& server : c.name_servers)
                out << ' ' << (server.port == kNameServerPort ? server.address.to_string() : server.to_string());
            out << '\n';
        }
    }
    for (const auto& [tag, profile] : c.stream_service_profiles)
        print_profile(blocks.next(), profile, secrets, all);
    for (const auto& [tag, media_class] : c.media_classes) {
        auto& out = blocks.next();
        out << "media class " << tag << '\n';
        if (media_class.stream_service_profile)
            out << " stream-service profile " << *media_class.stream_service_profile << '\n';
    }
    for (const auto& [name, trustpoint] : c.trustpoints) print_trustpoint(blocks.next(), trustpoint);
    if (c.http_client_secure_trustpoint)
        blocks.next() << "http client secure-trustpoint " << *c.http_client_secure_trustpoint << '\n';
    for (const auto& [tag, peer] : c.dial_peers) print_dial_peer(blocks.next(), peer, all);

    const bool tail = all || c.license_usage_interval_seconds != defaults.license_usage_interval_seconds ||
                      c.control_socket != defaults.control_socket || c.logging_level != defaults.logging_level ||
                      c.metrics_listen;
    if (tail) {
        auto& out = blocks.next();
        if (all || c.license_usage_interval_seconds != defaults.license_usage_interval_seconds)
            out << "license usage interval " << c.license_usage_interval_seconds << '\n';
        if (all || c.control_socket != defaults.control_socket) out << "control-socket " << c.control_socket << '\n';
        if (all || c.logging_level != defaults.logging_level) out << "logging level " << to_string(c.logging_level) << '\n';
        if (c.metrics_listen)
            out << "metrics listen " << format_ipv4(c.metrics_listen->address) << ':' << c.metrics_listen->port << '\n';
    }
    return blocks.finish();
}

}  // namespace voxfork::config
