#include "sdp.hpp"

#include <arpa/inet.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <unordered_map>

#include "text.hpp"

namespace voxfork::sip::sdp {
namespace {

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') ++i;
        std::size_t start = i;
        while (i < text.size() && text[i] != ' ') ++i;
        if (i > start) words.push_back(text.substr(start, i - start));
    }
    return words;
}

template <typename T>
std::optional<T> to_number(std::string_view text) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool starts_with(const std::string& value, std::string_view prefix) {
    return value.rfind(prefix, 0) == 0;
}

// "a=rtpmap:96 opus/48000/2" -> payload type of an attribute that names one.
std::optional<int> attribute_payload_type(const Line& line, std::string_view name) {
    if (line.type != 'a' || !starts_with(line.value, name)) return std::nullopt;
    std::string_view rest = std::string_view(line.value).substr(name.size());
    auto space = rest.find(' ');
    return to_number<int>(rest.substr(0, space));
}

// The static payload types of RFC 3551 that can still be met.
const char* static_encoding(int pt, int& clock) {
    clock = 8000;
    switch (pt) {
        case 0:
            return "PCMU";
        case 3:
            return "GSM";
        case 4:
            return "G723";
        case 8:
            return "PCMA";
        case 9:
            return "G722";
        case 13:
            return "CN";
        case 18:
            return "G729";
        default:
            return nullptr;
    }
}

// The c= line that applies to a stream (media level wins): its address
// type ("IP4", "IP6") and address (a TTL or count after '/' dropped).
struct Connection {
    std::string address_type;
    std::string address;
};
std::optional<Connection> connection_of(const Session& session, const Media& media) {
    auto find = [](const std::vector<Line>& lines) -> std::optional<Connection> {
        for (const auto& l : lines)
            if (l.type == 'c') {
                auto words = split_words(l.value);
                if (words.size() >= 3)
                    return Connection{std::string(words[1]), std::string(words[2].substr(0, words[2].find('/')))};
                return Connection{};
            }
        return std::nullopt;
    };
    if (auto c = find(media.lines)) return c;
    return find(session.lines);
}

// A literal of the family the address type names; nullopt for a name, a
// literal of the other family, or an address type other than IP4/IP6.
std::optional<net::Address> literal(std::string_view address_type, std::string_view text) {
    const auto address = net::Address::parse(text);
    if (!address) return std::nullopt;
    if (address_type == "IP4" && address->is_v4()) return address;
    if (address_type == "IP6" && address->is_v6()) return address;
    return std::nullopt;
}

std::string address_type(const net::Address& address) {
    return address.is_v6() ? "IP6" : "IP4";
}

std::string media_line(const Media& m) {
    std::string out = m.type + " " + std::to_string(m.port) + " " + m.proto;
    for (const auto& f : m.formats) out += " " + f;
    return out;
}

}  // namespace

bool Format::is_telephone_event() const {
    return equals_ignoring_case(encoding, "telephone-event");
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
    std::string s(text);
    in_addr addr{};
    if (inet_pton(AF_INET, s.c_str(), &addr) != 1) return std::nullopt;
    return ntohl(addr.s_addr);
}

std::optional<Session> parse(std::string_view text, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<Session> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    Session session;
    Media* current = nullptr;
    bool seen_origin = false;
    std::size_t pos = 0;
    int number = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        std::string_view raw = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        if (raw.empty()) continue;
        ++number;
        if (raw.size() < 2 || raw[1] != '=' || !std::islower(static_cast<unsigned char>(raw[0])))
            return fail("line " + std::to_string(number) + " is not type=value");
        Line line{raw[0], std::string(raw.substr(2))};
        if (number == 1 && (line.type != 'v' || line.value != "0")) return fail("first line is not v=0");
        if (line.type == 'o') {
            if (split_words(line.value).size() != 6) return fail("bad o= line");
            seen_origin = true;
        }
        if (line.type == 'c') {
            auto words = split_words(line.value);
            if (words.size() != 3 || words[0] != "IN") return fail("bad c= line");
        }
        if (line.type == 'm') {
            auto words = split_words(line.value);
            if (words.size() < 4) return fail("bad m= line");
            Media m;
            m.type = std::string(words[0]);
            auto port = to_number<std::uint16_t>(words[1].substr(0, words[1].find('/')));
            if (!port) return fail("bad port in m= line");
            m.port = *port;
            m.proto = std::string(words[2]);
            for (std::size_t i = 3; i < words.size(); ++i) m.formats.emplace_back(words[i]);
            session.media.push_back(std::move(m));
            current = &session.media.back();
            continue;
        }
        if (current)
            current->lines.push_back(std::move(line));
        else
            session.lines.push_back(std::move(line));
    }
    if (number == 0) return fail("empty SDP");
    if (!seen_origin) return fail("no o= line");
    for (const auto& m : session.media)
        if (!connection_of(session, m)) return fail("a stream without c= line");
    return session;
}

std::string print(const Session& session) {
    std::string out;
    auto put = [&out](char type, const std::string& value) {
        out += type;
        out += '=';
        out += value;
        out += "\r\n";
    };
    for (const auto& l : session.lines) put(l.type, l.value);
    for (const auto& m : session.media) {
        put('m', media_line(m));
        for (const auto& l : m.lines) put(l.type, l.value);
    }
    return out;
}

const Media* audio(const Session& session) {
    for (const auto& m : session.media)
        if (m.type == "audio" && m.port != 0) return &m;
    return nullptr;
}

Media* audio(Session& session) {
    return const_cast<Media*>(audio(static_cast<const Session&>(session)));
}

std::vector<Format> formats(const Media& media) {
    // Each payload type's rtpmap, the first line that names it, found in one
    // pass. A format searching the lines for its own made the B2BUA's looks
    // at an offer of 10,000 formats and 900 rtpmap lines (the size a request
    // may have) hold the control-plane thread, and SIP with it, for 0.36 s.
    std::unordered_map<int, std::string_view> rtpmaps;
    for (const auto& l : media.lines)
        if (auto pt = attribute_payload_type(l, "rtpmap:")) rtpmaps.try_emplace(*pt, l.value);
    std::vector<Format> out;
    out.reserve(media.formats.size());
    for (const auto& f : media.formats) {
        Format format;
        auto pt = to_number<int>(f);
        if (!pt) {
            out.push_back(format);
            continue;
        }
        format.payload_type = *pt;
        if (auto rtpmap = rtpmaps.find(*pt); rtpmap != rtpmaps.end()) {
            const std::string_view value = rtpmap->second;
            if (auto space = value.find(' '); space != std::string_view::npos) {
                std::string_view enc = value.substr(space + 1);
                auto slash = enc.find('/');
                format.encoding = std::string(enc.substr(0, slash));
                if (slash != std::string_view::npos) {
                    auto rest = enc.substr(slash + 1);
                    format.clock_rate = to_number<int>(rest.substr(0, rest.find('/'))).value_or(0);
                }
            }
        }
        if (format.encoding.empty() && *pt < 96) {
            int clock = 0;
            if (const char* name = static_encoding(*pt, clock)) {
                format.encoding = name;
                format.clock_rate = clock;
            }
        }
        out.push_back(format);
    }
    return out;
}

std::optional<config::Codec> to_codec(const Format& format) {
    const std::string enc = lower_case(format.encoding);
    if (enc == "pcmu") return config::Codec::g711ulaw;
    if (enc == "pcma") return config::Codec::g711alaw;
    if (enc == "g729") return config::Codec::g729;
    if (enc == "g722") return config::Codec::g722;
    if (enc == "opus") return config::Codec::opus;
    return std::nullopt;
}

std::string codec_name(const Format& format) {
    if (auto codec = to_codec(format)) return std::string(config::to_string(*codec));
    return lower_case(format.encoding);
}

std::optional<Format> first_codec(const Media& media) {
    for (const auto& f : formats(media))
        if (f.known() && !f.is_telephone_event()) return f;
    return std::nullopt;
}

bool has_known_codec(const Media& media) {
    return first_codec(media).has_value();
}

void restrict_formats(Media& media, const std::vector<int>& allowed) {
    // Sorted, so that the formats and lines of a large offer are each looked
    // up in log time rather than against the whole list.
    std::vector<int> sorted = allowed;
    std::sort(sorted.begin(), sorted.end());
    auto keep_pt = [&](int pt) { return std::binary_search(sorted.begin(), sorted.end(), pt); };
    std::vector<std::string> kept;
    for (const auto& f : media.formats) {
        auto pt = to_number<int>(f);
        if (pt && keep_pt(*pt)) kept.push_back(f);
    }
    media.formats = std::move(kept);
    std::erase_if(media.lines, [&](const Line& l) {
        for (std::string_view name : {"rtpmap:", "fmtp:"})
            if (auto pt = attribute_payload_type(l, name)) return !keep_pt(*pt);
        return false;
    });
}

bool filter_codec(Media& media, config::Codec codec) {
    std::vector<int> allowed;
    bool found = false;
    for (const auto& f : formats(media)) {
        if (f.is_telephone_event()) {
            allowed.push_back(f.payload_type);
        } else if (to_codec(f) == codec) {
            allowed.push_back(f.payload_type);
            found = true;
        }
    }
    if (!found) return false;
    restrict_formats(media, allowed);
    return true;
}

Direction direction(const Session& session, const Media& media) {
    auto find = [](const std::vector<Line>& lines) -> std::optional<Direction> {
        for (const auto& l : lines) {
            if (l.type != 'a') continue;
            if (l.value == "sendrecv") return Direction::sendrecv;
            if (l.value == "sendonly") return Direction::sendonly;
            if (l.value == "recvonly") return Direction::recvonly;
            if (l.value == "inactive") return Direction::inactive;
        }
        return std::nullopt;
    };
    if (auto d = find(media.lines)) return *d;
    return find(session.lines).value_or(Direction::sendrecv);
}

Remote remote(const Session& session, const Media& media) {
    Remote r;
    auto connection = connection_of(session, media);
    auto ip = connection ? literal(connection->address_type, connection->address) : std::nullopt;
    if (!ip) return r;
    r.ok = true;
    r.address = *ip;
    r.rtp_port = media.port;
    r.rtcp_address = *ip;
    r.rtcp_port = static_cast<std::uint16_t>(media.port + 1);
    for (const auto& l : media.lines) {
        if (l.type != 'a' || !starts_with(l.value, "rtcp:")) continue;
        auto words = split_words(std::string_view(l.value).substr(5));
        if (words.empty()) break;
        if (auto port = to_number<std::uint16_t>(words[0])) r.rtcp_port = *port;
        // a=rtcp:PORT IN IP4|IP6 ADDR (RFC 3605): another address only of the stream's own family.
        if (words.size() == 4)
            if (auto a = literal(words[2], words[3]); a && a->family() == ip->family()) r.rtcp_address = *a;
        break;
    }
    return r;
}

bool is_hold(const Session& session, const Media& media) {
    auto connection = connection_of(session, media);
    if (connection) {
        const auto address = literal(connection->address_type, connection->address);
        if (address && address->is_unspecified()) return true;
    }
    return direction(session, media) != Direction::sendrecv;
}

bool is_srtp(const Media& media) {
    if (media.proto.find("SAVP") != std::string::npos) return true;
    return std::any_of(media.lines.begin(), media.lines.end(),
                       [](const Line& l) { return l.type == 'a' && starts_with(l.value, "crypto:"); });
}

void anchor(Session& session, const net::Address& address, std::uint16_t port, Origin& origin) {
    ++origin.version;
    const std::string connection = "IN " + address_type(address) + " " + address.to_string();
    auto rewrite_connection = [&](Line& l) {
        auto words = split_words(l.value);
        const auto was = words.size() >= 3 ? literal(words[1], words[2]) : std::nullopt;
        // Keep a hold visible, in the family of the leg it is sent on (a
        // bridged call's other leg may be of the other family).
        l.value = was && was->is_unspecified()
                      ? "IN " + address_type(address) + " " + net::Address::any(address.family()).to_string()
                      : connection;
    };
    bool session_connection = false;
    for (auto& l : session.lines) {
        if (l.type == 'o')
            l.value = "voxfork " + std::to_string(origin.session_id) + " " + std::to_string(origin.version) + " " +
                      connection;
        if (l.type == 'c') {
            rewrite_connection(l);
            session_connection = true;
        }
    }
    // Attributes that would lead the far end around the relay: ICE's
    // (RFC 8839; end-of-candidates is trickle ICE's, RFC 8840) and a=rtcp.
    auto bypass = [](const Line& l) {
        return l.type == 'a' && (starts_with(l.value, "rtcp:") || starts_with(l.value, "candidate:") ||
                                 starts_with(l.value, "ice-") || starts_with(l.value, "remote-candidates:") ||
                                 l.value == "end-of-candidates");
    };
    std::erase_if(session.lines, bypass);
    Media* anchored = audio(session);
    for (auto& m : session.media) {
        if (&m != anchored) {
            m.port = 0;
            continue;
        }
        m.port = port;
        std::erase_if(m.lines, bypass);
        bool media_connection = false;
        for (auto& l : m.lines)
            if (l.type == 'c') {
                rewrite_connection(l);
                media_connection = true;
            }
        if (!session_connection && !media_connection) m.lines.insert(m.lines.begin(), Line{'c', connection});
    }
}

}  // namespace voxfork::sip::sdp
