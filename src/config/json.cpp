// The configuration as JSON (`show running-config | json`). Keys follow the
// commands of voxforkd.conf(5) in snake_case; numbers are numbers, addresses dotted
// quads, absent optional values null; blocks are arrays ordered by tag/name.
#include "voxfork/config_json.hpp"

#include <algorithm>

#include "commands.hpp"

namespace voxfork::config {
namespace {

using nlohmann::json;

template <typename T>
json or_null(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

// The IPv6 addresses (`bind ... source-address` of an IPv6 address) appear
// only when there are any, so that an IPv4-only configuration reads as before.
json sip_json(const SipSettings& sip) {
    json j = {{"control_address", sip.control_address},
              {"media_address", sip.effective_media_address()},
              {"listen_port", sip.listen_port}};
    if (sip.control_address_ipv6) j["control_address_ipv6"] = *sip.control_address_ipv6;
    if (const auto& media = sip.effective_media_address_ipv6()) j["media_address_ipv6"] = *media;
    return j;
}

json voip_json(const VoipService& v) {
    json trusted = json::array();
    for (const auto& network : v.trusted) {
        json entry = {{"address", network.address.to_string()}, {"prefix_length", network.prefix_length}};
        if (network.address.is_v4()) entry["mask"] = format_ipv4(network.ipv4_mask());
        trusted.push_back(entry);
    }
    return {{"rtp_port_range", {{"min", v.rtp_port_min}, {"max", v.rtp_port_max}}},
            {"trusted_list", trusted},  // empty: the dial-peers' session targets
            {"sip", sip_json(v.sip)}};
}

json profile_json(const StreamServiceProfile& p) {
    json suites = json::array();
    for (const auto& [suite, name] : detail::cipher_names)
        if (p.ciphersuites.empty() ||
            std::find(p.ciphersuites.begin(), p.ciphersuites.end(), suite) != p.ciphersuites.end())
            suites.push_back(name);
    json proxy = nullptr;
    if (p.proxy) proxy = {{"kind", p.proxy->is_ip ? "ip" : "host"}, {"host", p.proxy->host}, {"port", p.proxy->port}};
    return {{"tag", p.tag},
            {"description", p.description},
            {"calls_threshold", p.calls_threshold},
            {"idle_timeout_minutes", p.idle_timeout_minutes},
            {"secure_ciphersuites", suites},
            {"tls_versions", p.allow_tls13 ? json{"1.2", "1.3"} : json{"1.2"}},
            {"proxy", proxy},
            {"source_ip", or_null(p.source_ip)},
            {"protocol", to_string(p.protocol)},
            {"audiohook_organization_id", p.audiohook_organization_id},
            {"audiohook_client_secret", p.audiohook_client_secret.empty() ? json(nullptr) : json(mask_secret(p.audiohook_client_secret))},
            {"raw_layout", to_string(p.raw_layout)},
            {"raw_auth_scheme", p.raw_auth_scheme},
            {"raw_stop_message", p.raw_stop_message},
            {"raw_keepalive_message", p.raw_keepalive_message},
            {"reconnect_window_seconds", p.reconnect_window_seconds}};
}

json trustpoint_json(const Trustpoint& t) {
    return {{"name", t.name},
            {"enrollment_terminal", t.enrollment_terminal},
            {"enrollment_pem", t.enrollment_pem},
            {"revocation_check_none", t.revocation_check_none},
            {"serial_number", t.serial_number},
            {"subject_name", or_null(t.subject_name)},
            {"ca_file", or_null(t.ca_file)}};
}

json dial_peer_json(const DialPeer& d) {
    json target = nullptr;
    if (const auto& t = d.session_target)
        target = {
            {"kind", to_string(t->kind)}, {"host", t->host}, {"port", t->port}};
    return {{"tag", d.tag},
            {"description", d.description},
            {"session_protocol", d.session_protocol_sipv2 ? json("sipv2") : json(nullptr)},
            {"session_target", target},
            {"session_transport", to_string(d.transport)},
            {"rtp_latching", to_string(d.rtp_latching)},
            {"incoming_called_number", or_null(d.incoming_called_number)},
            {"destination_pattern", or_null(d.destination_pattern)},
            {"codec", d.codec ? json(to_string(*d.codec)) : json(nullptr)},
            {"dtmf_relay_rtp_nte", d.dtmf_relay_rtp_nte},
            {"media_class", or_null(d.media_class)},
            {"shutdown", d.shutdown}};
}

}  // namespace

json to_json(const Config& c) {
    json ip_hosts = json::object();
    for (const auto& [name, address] : c.ip_hosts) ip_hosts[name] = address.to_string();
    json name_servers = json::array();
    for (const auto& server : c.name_servers)
        name_servers.push_back({{"address", server.address.to_string()}, {"port", server.port}});
    json profiles = json::array(), classes = json::array(), trustpoints = json::array(), peers = json::array();
    for (const auto& [tag, profile] : c.stream_service_profiles) profiles.push_back(profile_json(profile));
    for (const auto& [tag, media_class] : c.media_classes)
        classes.push_back({{"tag", tag}, {"stream_service_profile", or_null(media_class.stream_service_profile)}});
    for (const auto& [name, trustpoint] : c.trustpoints) trustpoints.push_back(trustpoint_json(trustpoint));
    for (const auto& [tag, peer] : c.dial_peers) peers.push_back(dial_peer_json(peer));
    return {{"hostname", c.hostname},
            {"voice_service_voip", voip_json(c.voip)},
            {"ip_hosts", ip_hosts},
            {"ip_name_servers", name_servers},  // empty: the system resolver configuration
            {"media_profiles", profiles},
            {"media_classes", classes},
            {"trustpoints", trustpoints},
            {"http_client_secure_trustpoint", or_null(c.http_client_secure_trustpoint)},
            {"dial_peers", peers},
            {"license_usage_interval_seconds", c.license_usage_interval_seconds},
            {"control_socket", c.control_socket},
            {"logging_level", to_string(c.logging_level)},
            {"metrics_listen", c.metrics_listen ? json(format_ipv4(c.metrics_listen->address) + ":" +
                                                       std::to_string(c.metrics_listen->port))
                                                : json(nullptr)}};
}

}  // namespace voxfork::config
