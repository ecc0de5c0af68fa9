#include "messages.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace voxfork::stream::audiohook {

using Ordered = nlohmann::ordered_json;

std::string duration(std::uint64_t samples) {
    // Hundredths of a second: a 20 ms frame is 0.02 s.
    const std::uint64_t hundredths = samples / 80;
    std::string out = "PT" + std::to_string(hundredths / 100);
    if (const auto rest = hundredths % 100; rest != 0) {
        char buf[4];
        std::snprintf(buf, sizeof buf, ".%02u", static_cast<unsigned>(rest));
        out += buf;
        if (out.back() == '0') out.pop_back();
    }
    return out + "S";
}

namespace {

std::string format_uuid(const std::array<unsigned char, 16>& b) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[b[i] >> 4];
        out += hex[b[i] & 0x0f];
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The 16 bytes of a UUID written with or without its dashes.
std::optional<std::array<unsigned char, 16>> uuid_bytes(std::string_view text) {
    std::array<unsigned char, 16> b{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '-') continue;
        const int hi = hex_value(text[i]);
        if (hi < 0 || i + 1 >= text.size() || n == 16) return std::nullopt;
        const int lo = hex_value(text[++i]);
        if (lo < 0) return std::nullopt;
        b[n++] = static_cast<unsigned char>(hi << 4 | lo);
    }
    if (n != 16) return std::nullopt;
    return b;
}

}  // namespace

std::string random_uuid() {
    std::array<unsigned char, 16> b{};
    RAND_bytes(b.data(), static_cast<int>(b.size()));
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    return format_uuid(b);
}

std::string name_uuid(std::string_view namespace_uuid, std::string_view name) {
    const auto ns = uuid_bytes(namespace_uuid);
    std::string input(ns ? std::string(ns->begin(), ns->end()) : std::string(16, '\0'));
    input += name;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    std::array<unsigned char, 16> b{};
    std::copy(digest, digest + 16, b.begin());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x50);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    return format_uuid(b);
}

std::string conversation_id(std::string_view call_guid) {
    const bool hex32 = call_guid.size() == 32 && std::all_of(call_guid.begin(), call_guid.end(),
                                                             [](char c) { return hex_value(c) >= 0; });
    if (hex32) return format_uuid(*uuid_bytes(call_guid));
    return name_uuid(url_namespace, call_guid);
}

Ordered message(const Envelope& e, std::string_view type, Ordered parameters) {
    return {{"version", "2"},        {"type", type},
            {"seq", e.seq},          {"serverseq", e.serverseq},
            {"id", e.session_id},    {"position", duration(e.position)},
            {"parameters", std::move(parameters)}};
}

Ordered open_parameters(std::string_view organization_id, std::string_view conversation,
                        const Participant& participant, const nlohmann::json& custom_config) {
    const auto offer = [](std::initializer_list<const char*> channels) {
        return Ordered{{"type", "audio"}, {"format", "PCMU"}, {"channels", channels}, {"rate", 8000}};
    };
    return {{"organizationId", organization_id},
            {"conversationId", conversation},
            {"participant",
             {{"id", participant.id},
              {"ani", participant.ani},
              {"aniName", participant.ani_name},
              {"dnis", participant.dnis}}},
            {"media", Ordered::array({offer({"external", "internal"}), offer({"external"}), offer({"internal"})})},
            {"customConfig", custom_config.is_object() ? Ordered(custom_config) : Ordered::object()}};
}

std::optional<ServerMessage> parse_server_message(std::string_view text) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    const auto type = j.find("type");
    if (type == j.end() || !type->is_string()) return std::nullopt;
    ServerMessage m;
    m.type = type->get<std::string>();
    if (const auto seq = j.find("seq"); seq != j.end()) {
        if (!seq->is_number_unsigned()) return std::nullopt;
        m.seq = seq->get<std::uint64_t>();
    }
    if (const auto p = j.find("parameters"); p != j.end() && p->is_object()) m.parameters = *p;
    return m;
}

std::optional<MediaChoice> chosen_media(const nlohmann::json& parameters) {
    MediaChoice choice;
    const auto media = parameters.find("media");
    if (media == parameters.end()) return choice;  // none chosen: no audio
    if (!media->is_array() || media->size() > 1) return std::nullopt;
    // Typed reads only: a field of another type is a choice we did not offer.
    const auto is = [](const nlohmann::json& m, const char* key, const nlohmann::json& want) {
        const auto it = m.find(key);
        return it != m.end() && *it == want;
    };
    for (const auto& m : *media) {
        if (!m.is_object() || !is(m, "type", "audio") || !is(m, "format", "PCMU") || !is(m, "rate", 8000))
            return std::nullopt;
        const auto channels = m.find("channels");
        if (channels == m.end() || !channels->is_array()) return std::nullopt;
        std::vector<std::string> names;
        for (const auto& c : *channels) {
            if (!c.is_string()) return std::nullopt;
            names.push_back(c.get<std::string>());
        }
        if (names == std::vector<std::string>{"external", "internal"})
            choice = {true, true};
        else if (names == std::vector<std::string>{"external"})
            choice = {true, false};
        else if (names == std::vector<std::string>{"internal"})
            choice = {false, true};
        else
            return std::nullopt;
    }
    return choice;
}

}  // namespace voxfork::stream::audiohook
