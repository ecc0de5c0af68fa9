// The configuration: an immutable, typed value parsed from the IOS-style file
// (voxforkd.conf(5), docs/configuration.md). Every part reads a shared_ptr<const Config>; a
// reload builds a new value and swaps the pointer, nothing is edited in place.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voxfork/net.hpp"

namespace voxfork::config {

enum class LogLevel { debug, info, warning, error };
enum class Transport { udp, tcp };
// Where a leg's RTP goes: learned from the packets that arrive (learn), or only the SDP's address (strict).
enum class RtpLatching { learn, strict };
enum class Codec { g711ulaw, g711alaw, g729, g722, opus };

// The six `secure-ciphersuite` names of voxforkd.conf(5), in the order it lists them.
enum class CipherSuite {
    aes_128_cbc_sha,
    dhe_rsa_aes_cbc_sha2,
    ecdhe_rsa_aes_cbc_sha2,
    rsa_aes_cbc_sha2,
    ecdhe_ecdsa_aes_gcm_sha2,
    ecdhe_rsa_aes_gcm_sha2,
};

// `bind control|media source-address` hold one address per family: an
// IPv6 address given to either adds that family beside the IPv4 one (see
// docs/configuration.md).
struct SipSettings {
    std::string control_address = "127.0.0.1";       // bind control source-address, IPv4
    std::optional<std::string> control_address_ipv6;  // ... IPv6; unset: SIP on IPv4 only
    std::optional<std::string> media_address;         // bind media source-address, IPv4; unset: control address
    std::optional<std::string> media_address_ipv6;    // ... IPv6; unset: the IPv6 control address
    std::uint16_t listen_port = 5060;                 // listen-port non-secure
    bool operator==(const SipSettings&) const = default;

    const std::string& effective_media_address() const { return media_address ? *media_address : control_address; }
    // The relay's IPv6 address; unset: no IPv6 call leg can be anchored.
    const std::optional<std::string>& effective_media_address_ipv6() const {
        return media_address_ipv6 ? media_address_ipv6 : control_address_ipv6;
    }
};

struct VoipService {
    std::uint16_t rtp_port_min = 16384;
    std::uint16_t rtp_port_max = 32767;
    // `ip address trusted list` entries (`ipv4 ADDR [MASK]`, `ipv6
    // PREFIX[/LEN]`), host bits cleared; empty means the default rule (the
    // dial-peers' session-target addresses only).
    std::vector<net::Network> trusted;
    SipSettings sip;
    bool operator==(const VoipService&) const = default;
};

struct Proxy {
    bool is_ip = false;  // `proxy ip` (literal) versus `proxy host` (a name for c-ares)
    std::string host;
    std::uint16_t port = 0;
    bool operator==(const Proxy&) const = default;
};

// The speech-server protocol a profile speaks.
enum class StreamProtocol { voxfork_v1, audiohook, raw };
// How a `raw` fork carries its two channels.
enum class RawLayout { separate, interleaved };

struct StreamServiceProfile {
    std::uint32_t tag = 0;
    std::string description;
    int calls_threshold = 3;
    int idle_timeout_minutes = 30;
    std::vector<CipherSuite> ciphersuites;  // empty: all six
    bool allow_tls13 = false;               // `tls-version 1.2 1.3`
    std::optional<Proxy> proxy;
    std::optional<std::string> source_ip;  // an address of either family, canonical text
    StreamProtocol protocol = StreamProtocol::voxfork_v1;
    std::string audiohook_organization_id = "00000000-0000-0000-0000-000000000000";
    std::string audiohook_client_secret;  // base64; empty: the upgrade is not signed
    RawLayout raw_layout = RawLayout::separate;
    std::string raw_auth_scheme = "Bearer";
    std::string raw_stop_message;       // empty: none
    std::string raw_keepalive_message;  // empty: none
    int reconnect_window_seconds = 0;   // 0: a lost connection ends its forks
    bool operator==(const StreamServiceProfile&) const = default;
};

struct MediaClass {
    std::uint32_t tag = 0;
    std::optional<std::uint32_t> stream_service_profile;
    bool operator==(const MediaClass&) const = default;
};

struct Trustpoint {
    std::string name;
    bool enrollment_terminal = false;
    bool enrollment_pem = false;
    bool revocation_check_none = false;
    bool serial_number = false;
    std::optional<std::string> subject_name;
    std::optional<std::string> ca_file;
    bool operator==(const Trustpoint&) const = default;
};

struct SessionTarget {
    enum class Kind { ipv4, ipv6, dns };
    Kind kind = Kind::ipv4;
    std::string host;  // dotted quad for ipv4, RFC 5952 text (no brackets) for ipv6, a name for dns
    std::uint16_t port = 5060;
    bool operator==(const SessionTarget&) const = default;
};

struct DialPeer {
    std::uint32_t tag = 0;
    std::string description;
    bool session_protocol_sipv2 = false;
    std::optional<SessionTarget> session_target;
    Transport transport = Transport::udp;
    RtpLatching rtp_latching = RtpLatching::learn;
    std::optional<std::string> incoming_called_number;  // a dial-peer pattern
    std::optional<std::string> destination_pattern;     // a dial-peer pattern
    std::optional<Codec> codec;                         // unset: every codec passes
    bool dtmf_relay_rtp_nte = false;
    std::optional<std::uint32_t> media_class;
    bool shutdown = false;
    bool operator==(const DialPeer&) const = default;
};

// An `ip name-server`: an address of either family and a port (53 unless given).
using NameServer = net::Endpoint;
inline constexpr std::uint16_t kNameServerPort = 53;

// `metrics listen ADDR:PORT` (ext): where the Prometheus endpoint listens.
struct MetricsListen {
    std::uint32_t address = 0x7f000001;  // host byte order; 127.0.0.1 when only PORT is given
    std::uint16_t port = 0;
    bool operator==(const MetricsListen&) const = default;
};

struct Config {
    std::string hostname = "voxfork";
    VoipService voip;
    std::map<std::uint32_t, StreamServiceProfile> stream_service_profiles;
    std::map<std::uint32_t, MediaClass> media_classes;
    std::map<std::string, Trustpoint> trustpoints;
    std::optional<std::string> http_client_secure_trustpoint;
    std::map<std::uint32_t, DialPeer> dial_peers;
    // name -> address (either family); names as normalize_host_name() gives them.
    std::map<std::string, net::Address> ip_hosts;
    std::vector<NameServer> name_servers;  // empty: system resolver configuration
    int license_usage_interval_seconds = 3600;
    std::string control_socket = "/run/voxfork/voxforkd.sock";
    LogLevel logging_level = LogLevel::info;
    std::optional<MetricsListen> metrics_listen;  // unset: no metrics endpoint (the default)
    bool operator==(const Config&) const = default;

    // The stream-service profile a dial-peer's media-class leads to, if any.
    const StreamServiceProfile* profile_for_dial_peer(std::uint32_t dial_peer_tag) const;
    // The CA file of `http client secure-trustpoint`, if one is configured.
    std::optional<std::string> websocket_ca_file() const;
    // The `ip host` address of a name, matched case-insensitively (host
    // names are: `ip host Agents.Lab` serves dns:agents.lab).
    std::optional<net::Address> ip_host(std::string_view name) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

// One problem found in a file: `PATH:LINE: MESSAGE` when printed; line 0
// (the file as a whole: missing, a directory, unreadable) prints `PATH: MESSAGE`.
struct ConfigError {
    std::string path;
    int line = 0;
    std::string message;
    std::string to_string() const;
};

struct ParseResult {
    ConfigPtr config;                 // set only when errors is empty
    std::vector<ConfigError> errors;  // every error of the file, in line order
};

// Parses text; `path` is only used in error messages. Never throws; input of
// any size or content gives either a Config or errors (at most 1000 + 1).
ParseResult parse(std::string_view text, const std::string& path);
// Reads and parses a file (a directory, an unreadable or a binary file are errors too).
ParseResult parse_file(const std::string& path);

// IOS syntax with defaults omitted, or spelled out for `show running-config
// all`; parse(print(c)) == c. `show running-config` masks secrets (a masked
// secret does not parse back).
enum class Secrets { whole, masked };
enum class Defaults { omitted, shown };
std::string print(const Config& config, Secrets secrets = Secrets::whole, Defaults defaults_are = Defaults::omitted);
// A secret as every show gives it (a fork's token, a profile's client
// secret, in text and JSON alike): its first 8 characters and `****`.
std::string mask_secret(std::string_view secret);

// Names as they appear in the file and on the wire.
std::string_view to_string(Codec);
std::string_view to_string(CipherSuite);
std::string_view to_string(StreamProtocol);
std::string_view to_string(RawLayout);
std::string_view to_string(Transport);
std::string_view to_string(RtpLatching);
std::string_view to_string(LogLevel);
std::string_view to_string(SessionTarget::Kind);  // "ipv4", "ipv6", "dns"
// As `session target` takes it: "ipv4:192.0.2.1", "ipv6:[2001:db8::1]:5070",
// "dns:sbc.example.net"; the port only when it is not 5060.
std::string to_string(const SessionTarget&);
std::string format_ipv4(std::uint32_t address_host_order);
// A host name as a key: lower-cased, without the trailing dot of a rooted name.
std::string normalize_host_name(std::string_view name);

}  // namespace voxfork::config
