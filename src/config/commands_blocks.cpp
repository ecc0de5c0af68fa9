// The block commands: stream-service profiles, media classes, trustpoints and
// dial-peers, each opened by a global command. Opening an existing block
// again edits it (as on IOS); `no` of the opener removes the block.
#include <algorithm>
#include <cctype>

#include "commands.hpp"
#include "voxfork/dialplan.hpp"

namespace voxfork::config::detail {
namespace {

constexpr std::int64_t max_profile_tag = 10000;
constexpr std::int64_t max_class_tag = 10000;
constexpr std::int64_t max_dial_peer_tag = 2147483647;
constexpr std::size_t max_profile_description = 64;

std::size_t utf8_length(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xc0) != 0x80; }));
}

// Opens `Block` mode on the map entry for a good key, or on a scratch object
// when the opener's arguments are bad (its lines are still checked).
template <typename Key, typename Block>
Block* enter(std::map<Key, Block>& blocks, const std::optional<Key>& key, Block& scratch) {
    if (!key) {
        scratch = Block{};
        return &scratch;
    }
    return &blocks[*key];
}

std::optional<std::uint32_t> tag(const Context& c, std::size_t index, std::int64_t max) {
    const auto value = c.number(index, "TAG", 1, max);
    if (!value) return std::nullopt;
    return static_cast<std::uint32_t>(*value);
}

std::optional<std::string> pattern(const Context& c) {
    if (!c.exactly(1, "PATTERN")) return std::nullopt;
    const auto text = c.args[0];
    if (const auto problem = dialplan::pattern_error(text); !problem.empty()) {
        c.error("invalid PATTERN \"" + std::string(text) + "\" for \"" + std::string(c.name) + "\": " + problem);
        return std::nullopt;
    }
    return std::string(text);
}

// A fixed keyword argument (`session protocol sipv2`, `dtmf-relay rtp-nte`).
bool only_keyword(const Context& c, std::string_view expected) {
    return c.exactly(1, expected) && c.keyword(0, expected);
}

// `ipv6:[ADDR][:PORT]`: the address in brackets, as in a SIP URI, so that
// a port can follow it unambiguously.
std::optional<std::string> ipv6_target(std::string_view rest, SessionTarget& target) {
    const auto close = rest.find(']');
    if (rest.empty() || rest.front() != '[' || close == std::string_view::npos)
        return "expected ipv6:[ADDR][:PORT], the address in brackets";
    const auto address = net::Address::parse(rest.substr(1, close - 1));
    if (!address || !address->is_v6()) return "not an IPv6 address";
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
        const auto port = after.front() == ':' ? parse_number(after.substr(1)) : std::nullopt;
        if (after.front() != ':') return "expected ipv6:[ADDR][:PORT], the address in brackets";
        if (!port || *port < 1 || *port > 65535) return "PORT must be 1-65535";
        target.port = static_cast<std::uint16_t>(*port);
    }
    target.host = address->to_string();
    return std::nullopt;
}

std::optional<SessionTarget> session_target(const Context& c) {
    if (!c.exactly(1, "ipv4:ADDR[:PORT] or dns:NAME[:PORT] or ipv6:[ADDR][:PORT]")) return std::nullopt;
    const auto word = c.args[0];
    const auto colon = word.find(':');
    const auto kind_word = word.substr(0, colon == std::string_view::npos ? word.size() : colon);
    const auto bad = [&](std::string why) {
        c.error("invalid target \"" + std::string(word) + "\" for \"session target\": " + why);
        return std::nullopt;
    };
    SessionTarget target;
    if (same_word(kind_word, "ipv4"))
        target.kind = SessionTarget::Kind::ipv4;
    else if (same_word(kind_word, "ipv6"))
        target.kind = SessionTarget::Kind::ipv6;
    else if (same_word(kind_word, "dns"))
        target.kind = SessionTarget::Kind::dns;
    else
        return bad("expected ipv4:ADDR[:PORT] or dns:NAME[:PORT] or ipv6:[ADDR][:PORT]");
    if (colon == std::string_view::npos) return bad("missing address");
    if (target.kind == SessionTarget::Kind::ipv6) {
        if (auto why = ipv6_target(word.substr(colon + 1), target)) return bad(*why);
        return target;
    }
    const auto [host, port] = split_host_port(word.substr(colon + 1));
    if (port && *port == 0) return bad("PORT must be 1-65535");
    if (target.kind == SessionTarget::Kind::ipv4 ? !parse_ipv4(host) : !is_dns_name(host))
        return bad(target.kind == SessionTarget::Kind::ipv4 ? "not an IPv4 address" : "not a DNS name");
    target.host = std::string(host);
    if (port) target.port = static_cast<std::uint16_t>(*port);
    return target;
}

std::optional<Proxy> proxy(const Context& c) {
    if (!c.exactly(4, "host NAME port PORT or ip ADDR port PORT")) return std::nullopt;
    Proxy result;
    if (same_word(c.args[0], "ip"))
        result.is_ip = true;
    else if (!same_word(c.args[0], "host")) {
        c.error("expected \"host\" or \"ip\" for \"proxy\", not \"" + std::string(c.args[0]) + "\"");
        return std::nullopt;
    }
    // An address is kept in its canonical text (RFC 5952 for IPv6).
    const auto address = result.is_ip ? c.ip_address(1, "ADDR") : std::nullopt;
    const bool host_ok = result.is_ip ? address.has_value() : c.dns_name(1, "NAME").has_value();
    const bool keyword_ok = c.keyword(2, "port");
    const auto port = keyword_ok ? c.port(3) : std::nullopt;
    if (!host_ok || !port) return std::nullopt;
    result.host = address ? address->to_string() : std::string(c.args[1]);
    result.port = *port;
    return result;
}

std::optional<std::vector<CipherSuite>> ciphersuites(const Context& c) {
    if (!c.arg(0, "NAME")) return std::nullopt;
    std::vector<CipherSuite> list;
    bool good = true;
    for (std::size_t i = 0; i < c.args.size(); ++i) {
        const auto suite = c.choice(i, "cipher suite", cipher_names);
        if (!suite)
            good = false;
        else if (std::find(list.begin(), list.end(), *suite) == list.end())
            list.push_back(*suite);
    }
    if (!good) return std::nullopt;
    return list;
}

bool is_hex(char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

// 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view text) {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !is_hex(text[i])) return false;
    }
    return true;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return out;
}

// Standard base64 (RFC 4648 section 4), padded: what the secret is decoded from.
bool is_base64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return false;
    const std::size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        const char ch = text[i];
        const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                        ch == '+' || ch == '/';
        if (!ok) return false;
    }
    return true;
}

// An HTTP token (RFC 9110 section 5.6.2): the auth scheme goes into a header.
bool is_token(std::string_view text) {
    constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || specials.find(ch) != std::string_view::npos;
    });
}

StreamServiceProfile& profile(const Context& c) {
    return *c.state.profile;
}
MediaClass& media_class(const Context& c) {
    return *c.state.media_class;
}
Trustpoint& trustpoint(const Context& c) {
    return *c.state.trustpoint;
}
DialPeer& peer(const Context& c) {
    return *c.state.dial_peer;
}
bool real_class(const Context& c) {
    return c.state.media_class != &c.state.scratch_class;
}
bool real_peer(const Context& c) {
    return c.state.dial_peer != &c.state.scratch_dial_peer;
}

constexpr CommandSpec commands[] = {
    // ---- openers (global mode) ----
    {Mode::global, "media profile stream-service",
     [](const Context& c) {
         const auto key = c.exactly(1, "TAG") ? tag(c, 0, max_profile_tag) : std::nullopt;
         c.state.profile = enter(c.config.stream_service_profiles, key, c.state.scratch_profile);
         if (key) c.state.profile->tag = *key;
         c.open(Mode::profile);
     },
     [](const Context& c) {
         if (const auto key = c.at_most(1) ? tag(c, 0, max_profile_tag) : std::nullopt)
             c.config.stream_service_profiles.erase(*key);
     }},

    {Mode::global, "media class",
     [](const Context& c) {
         const auto key = c.exactly(1, "TAG") ? tag(c, 0, max_class_tag) : std::nullopt;
         c.state.media_class = enter(c.config.media_classes, key, c.state.scratch_class);
         if (key) c.state.media_class->tag = *key;
         c.open(Mode::media_class);
     },
     [](const Context& c) {
         if (const auto key = c.at_most(1) ? tag(c, 0, max_class_tag) : std::nullopt) {
             c.config.media_classes.erase(*key);
             c.state.class_profile_lines.erase(*key);
         }
     }},

    {Mode::global, "crypto pki trustpoint",
     [](const Context& c) {
         const auto key = c.exactly(1, "NAME") ? c.simple_name(0, "NAME") : std::nullopt;
         c.state.trustpoint = enter(c.config.trustpoints, key, c.state.scratch_trustpoint);
         if (key) c.state.trustpoint->name = *key;
         c.open(Mode::trustpoint);
     },
     [](const Context& c) {
         if (const auto name = c.at_most(1) ? c.arg(0, "NAME") : std::nullopt)
             c.config.trustpoints.erase(std::string(*name));
     }},

    {Mode::global, "dial-peer voice",
     [](const Context& c) {
         std::optional<std::uint32_t> key;
         if (c.exactly(2, "TAG voip")) {
             key = tag(c, 0, max_dial_peer_tag);
             if (!c.keyword(1, "voip")) key.reset();
         }
         c.state.dial_peer = enter(c.config.dial_peers, key, c.state.scratch_dial_peer);
         if (key) c.state.dial_peer->tag = *key;
         c.open(Mode::dial_peer);
     },
     [](const Context& c) {
         if (const auto key = c.at_most(2) ? tag(c, 0, max_dial_peer_tag) : std::nullopt) {
             c.config.dial_peers.erase(*key);
             c.state.peer_class_lines.erase(*key);
         }
     }},

    // ---- media profile stream-service ----
    {Mode::profile, "description",
     [](const Context& c) {
         const auto text = c.text(0, "TEXT");
         if (!text) return;
         if (const auto length = utf8_length(*text); length > max_profile_description)
             return c.error("TEXT for \"description\" is too long (" + std::to_string(length) +
                            " characters, at most " + std::to_string(max_profile_description) + ")");
         profile(c).description = *text;
     },
     [](const Context& c) { profile(c).description.clear(); }},

    {Mode::profile, "connection calls-threshold",
     [](const Context& c) {
         if (!c.exactly(1, "N")) return;
         if (const auto n = c.number(0, "N", 1, 20)) profile(c).calls_threshold = static_cast<int>(*n);
     },
     [](const Context& c) { profile(c).calls_threshold = StreamServiceProfile{}.calls_threshold; }},

    {Mode::profile, "connection idle-timeout",
     [](const Context& c) {
         if (!c.exactly(1, "MINUTES")) return;
         if (const auto n = c.number(0, "MINUTES", 1, 1440)) profile(c).idle_timeout_minutes = static_cast<int>(*n);
     },
     [](const Context& c) { profile(c).idle_timeout_minutes = StreamServiceProfile{}.idle_timeout_minutes; }},

    // A later line replaces the list; duplicates within a line are dropped.
    {Mode::profile, "secure-ciphersuite",
     [](const Context& c) {
         if (auto list = ciphersuites(c)) profile(c).ciphersuites = std::move(*list);
     },
     [](const Context& c) { profile(c).ciphersuites.clear(); }},

    {Mode::profile, "tls-version",
     [](const Context& c) {
         if (!c.at_most(2) || !c.arg(0, "1.2 [1.3]")) return;
         const bool good = c.args[0] == "1.2" && (c.args.size() == 1 || c.args[1] == "1.3");
         if (!good) return c.error("expected \"tls-version 1.2\" or \"tls-version 1.2 1.3\"");
         profile(c).allow_tls13 = c.args.size() == 2;
     },
     [](const Context& c) { profile(c).allow_tls13 = false; }},

    {Mode::profile, "proxy",
     [](const Context& c) {
         if (auto value = proxy(c)) profile(c).proxy = std::move(*value);
     },
     [](const Context& c) { profile(c).proxy.reset(); }},

    {Mode::profile, "source-ip",
     [](const Context& c) {
         if (!c.exactly(1, "ADDR")) return;
         if (const auto address = c.ip_address(0, "ADDR")) profile(c).source_ip = address->to_string();
     },
     [](const Context& c) { profile(c).source_ip.reset(); }},

    // ---- the speech-server protocol of the profile (voxforkd.conf(5)) ----
    {Mode::profile, "protocol",
     [](const Context& c) {
         if (!c.exactly(1, "PROTOCOL")) return;
         if (const auto p = c.choice(0, "protocol", protocol_names)) profile(c).protocol = *p;
     },
     [](const Context& c) { profile(c).protocol = StreamServiceProfile{}.protocol; }},

    {Mode::profile, "audiohook organization-id",
     [](const Context& c) {
         if (!c.exactly(1, "UUID")) return;
         if (!is_uuid(c.args[0]))
             return c.error("invalid UUID \"" + std::string(c.args[0]) +
                            "\" for \"audiohook organization-id\" (expected 8-4-4-4-12 hex digits)");
         profile(c).audiohook_organization_id = lower(c.args[0]);
     },
     [](const Context& c) {
         profile(c).audiohook_organization_id = StreamServiceProfile{}.audiohook_organization_id;
     }},

    {Mode::profile, "audiohook client-secret",
     [](const Context& c) {
         if (!c.exactly(1, "BASE64")) return;
         if (!is_base64(c.args[0]))
             return c.error("invalid BASE64 secret for \"audiohook client-secret\" (expected standard base64, "
                            "padded to a multiple of 4 characters)");
         profile(c).audiohook_client_secret = std::string(c.args[0]);
     },
     [](const Context& c) { profile(c).audiohook_client_secret.clear(); }},

    {Mode::profile, "raw layout",
     [](const Context& c) {
         if (!c.exactly(1, "LAYOUT")) return;
         if (const auto layout = c.choice(0, "layout", raw_layout_names)) profile(c).raw_layout = *layout;
     },
     [](const Context& c) { profile(c).raw_layout = StreamServiceProfile{}.raw_layout; }},

    {Mode::profile, "raw auth-scheme",
     [](const Context& c) {
         if (!c.exactly(1, "WORD")) return;
         if (!is_token(c.args[0]))
             return c.error("invalid WORD \"" + std::string(c.args[0]) +
                            "\" for \"raw auth-scheme\" (letters, digits and !#$%&'*+-.^_`|~ only)");
         profile(c).raw_auth_scheme = std::string(c.args[0]);
     },
     [](const Context& c) { profile(c).raw_auth_scheme = StreamServiceProfile{}.raw_auth_scheme; }},

    {Mode::profile, "raw stop-message",
     [](const Context& c) {
         if (auto text = c.text(0, "TEXT")) profile(c).raw_stop_message = std::move(*text);
     },
     [](const Context& c) { profile(c).raw_stop_message.clear(); }},

    {Mode::profile, "raw keepalive-message",
     [](const Context& c) {
         if (auto text = c.text(0, "TEXT")) profile(c).raw_keepalive_message = std::move(*text);
     },
     [](const Context& c) { profile(c).raw_keepalive_message.clear(); }},

    {Mode::profile, "connection reconnect window",
     [](const Context& c) {
         if (!c.exactly(1, "SECONDS")) return;
         if (const auto n = c.number(0, "SECONDS", 0, 300)) profile(c).reconnect_window_seconds = static_cast<int>(*n);
     },
     [](const Context& c) { profile(c).reconnect_window_seconds = 0; }},

    // ---- media class ----
    {Mode::media_class, "stream-service profile",
     [](const Context& c) {
         const auto key = c.exactly(1, "TAG") ? tag(c, 0, max_profile_tag) : std::nullopt;
         if (!key) return;
         media_class(c).stream_service_profile = *key;
         if (real_class(c)) c.state.class_profile_lines[media_class(c).tag] = c.line.number;
     },
     [](const Context& c) {
         media_class(c).stream_service_profile.reset();
         c.state.class_profile_lines.erase(media_class(c).tag);
     }},

    // ---- crypto pki trustpoint: kept and printed back, no effect ----
    {Mode::trustpoint, "enrollment",
     [](const Context& c) {
         if (!c.at_most(2) || !c.keyword(0, "terminal")) return;
         if (c.args.size() == 2 && !c.keyword(1, "pem")) return;
         trustpoint(c).enrollment_terminal = true;
         trustpoint(c).enrollment_pem = c.args.size() == 2;
     },
     [](const Context& c) { trustpoint(c).enrollment_terminal = trustpoint(c).enrollment_pem = false; }},

    {Mode::trustpoint, "revocation-check",
     [](const Context& c) {
         if (only_keyword(c, "none")) trustpoint(c).revocation_check_none = true;
     },
     [](const Context& c) { trustpoint(c).revocation_check_none = false; }},

    {Mode::trustpoint, "serial-number",
     [](const Context& c) {
         if (c.at_most(0)) trustpoint(c).serial_number = true;
     },
     [](const Context& c) { trustpoint(c).serial_number = false; }},

    {Mode::trustpoint, "subject-name",
     [](const Context& c) {
         if (auto text = c.text(0, "NAME")) trustpoint(c).subject_name = std::move(*text);
     },
     [](const Context& c) { trustpoint(c).subject_name.reset(); }},

    {Mode::trustpoint, "ca-file",
     [](const Context& c) {
         // The rest of the line: a path may hold blanks.
         if (auto path = c.text(0, "PATH")) trustpoint(c).ca_file = std::move(*path);
     },
     [](const Context& c) { trustpoint(c).ca_file.reset(); }},

    // ---- dial-peer voice TAG voip ----
    {Mode::dial_peer, "description",
     [](const Context& c) {
         if (auto text = c.text(0, "TEXT")) peer(c).description = std::move(*text);
     },
     [](const Context& c) { peer(c).description.clear(); }},

    {Mode::dial_peer, "session protocol",
     [](const Context& c) {
         if (only_keyword(c, "sipv2")) peer(c).session_protocol_sipv2 = true;
     },
     [](const Context& c) { peer(c).session_protocol_sipv2 = false; }},

    {Mode::dial_peer, "session target",
     [](const Context& c) {
         if (auto target = session_target(c)) peer(c).session_target = std::move(*target);
     },
     [](const Context& c) { peer(c).session_target.reset(); }},

    {Mode::dial_peer, "session transport",
     [](const Context& c) {
         if (!c.exactly(1, "udp|tcp")) return;
         if (const auto transport = c.choice(0, "transport", transport_names)) peer(c).transport = *transport;
     },
     [](const Context& c) { peer(c).transport = DialPeer{}.transport; }},

    {Mode::dial_peer, "rtp latching",
     [](const Context& c) {
         if (!c.exactly(1, "learn|strict")) return;
         if (const auto mode = c.choice(0, "mode", latching_names)) peer(c).rtp_latching = *mode;
     },
     [](const Context& c) { peer(c).rtp_latching = DialPeer{}.rtp_latching; }},

    {Mode::dial_peer, "incoming called-number",
     [](const Context& c) {
         if (auto value = pattern(c)) peer(c).incoming_called_number = std::move(*value);
     },
     [](const Context& c) { peer(c).incoming_called_number.reset(); }},

    {Mode::dial_peer, "destination-pattern",
     [](const Context& c) {
         if (auto value = pattern(c)) peer(c).destination_pattern = std::move(*value);
     },
     [](const Context& c) { peer(c).destination_pattern.reset(); }},

    {Mode::dial_peer, "codec",
     [](const Context& c) {
         if (!c.exactly(1, "NAME")) return;
         if (const auto codec = c.choice(0, "codec", codec_names)) peer(c).codec = *codec;
     },
     [](const Context& c) { peer(c).codec.reset(); }},

    {Mode::dial_peer, "dtmf-relay",
     [](const Context& c) {
         if (only_keyword(c, "rtp-nte")) peer(c).dtmf_relay_rtp_nte = true;
     },
     [](const Context& c) { peer(c).dtmf_relay_rtp_nte = false; }},

    {Mode::dial_peer, "media-class",
     [](const Context& c) {
         const auto key = c.exactly(1, "TAG") ? tag(c, 0, max_class_tag) : std::nullopt;
         if (!key) return;
         peer(c).media_class = *key;
         if (real_peer(c)) c.state.peer_class_lines[peer(c).tag] = c.line.number;
     },
     [](const Context& c) {
         peer(c).media_class.reset();
         c.state.peer_class_lines.erase(peer(c).tag);
     }},

    {Mode::dial_peer, "shutdown",
     [](const Context& c) {
         if (c.at_most(0)) peer(c).shutdown = true;
     },
     [](const Context& c) { peer(c).shutdown = false; }},
};

}  // namespace

std::span<const CommandSpec> block_commands() {
    return commands;
}

}  // namespace voxfork::config::detail
