// Validation follows docs/controller.md's numbered order exactly; each step looks only
// at what the earlier steps let through, so the first failing step names the
// reason.
#include "request.hpp"

#include <algorithm>

#include <voxfork/net.hpp>

namespace voxfork::fork {
namespace {

using Json = nlohmann::json;

// Deepest bracket nesting outside strings; stops counting past `limit`.
// Malformed text is left for the parser to reject.
bool nesting_within(std::string_view text, int limit) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == '{' || c == '[') {
            if (++depth > limit) return false;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return true;
}

// Null counts as absent, for mandatory and optional fields alike.
const Json* field(const Json& object, const char* name) {
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

std::size_t utf8_length(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool has_control_char(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// An IPv6 literal, bare ("2001:db8::1") or in brackets ("[2001:db8::1]").
std::optional<net::Address> ipv6_literal(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto address = net::Address::parse(host);
    if (!address || !address->is_v6()) return std::nullopt;
    return address;
}

// A host goes into the Host header and the resolver: an IP literal or a DNS
// name, nothing else. An IPv6 literal is kept bare and canonical (RFC 5952),
// so `[::1]` and `0:0::1` name one server (and one shared connection).
std::optional<std::string> valid_host(const std::string& host) {
    if (const auto v6 = ipv6_literal(host)) return v6->to_string();
    if (host.empty() || host.size() > 253) return std::nullopt;
    const bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_';
    });
    if (!name_chars) return std::nullopt;
    return host;
}

std::optional<std::string> valid_guid(const Json* value) {
    if (value == nullptr || !value->is_string()) return std::nullopt;
    const auto& s = value->get_ref<const std::string&>();
    const auto n = utf8_length(s);
    if (n < 1 || n > 64) return std::nullopt;
    return s;
}

std::optional<Action> action_of(const Json* value) {
    if (value == nullptr || !value->is_string()) return std::nullopt;
    const auto& s = value->get_ref<const std::string&>();
    if (s == "START") return Action::start;
    if (s == "STOP") return Action::stop;
    if (s == "UPDATE") return Action::update;
    return std::nullopt;
}

// Step 4: types and ranges of every field this action reads. False on the
// first bad one.
bool read_fields(const Json& object, ForkRequest& out) {
    if (const Json* v = field(object, "host")) {
        if (!v->is_string()) return false;
        auto host = valid_host(v->get<std::string>());
        if (!host) return false;
        out.host = std::move(*host);
    }
    if (const Json* v = field(object, "port")) {
        // is_number_integer excludes 8080.5, "8080" and true.
        if (!v->is_number_integer()) return false;
        if (v->is_number_unsigned()) {
            const auto p = v->get<std::uint64_t>();
            if (p < 1 || p > 65535) return false;
            out.port = static_cast<std::uint16_t>(p);
        } else {
            const auto p = v->get<std::int64_t>();
            if (p < 1 || p > 65535) return false;
            out.port = static_cast<std::uint16_t>(p);
        }
    }
    if (const Json* v = field(object, "secure")) {
        if (!v->is_boolean()) return false;
        out.secure = v->get<bool>();
    }
    if (const Json* v = field(object, "path")) {
        // The path is the upgrade's request target: no spaces or control characters.
        if (!v->is_string()) return false;
        const auto& p = v->get_ref<const std::string&>();
        if (p.empty() || p.front() != '/' || has_control_char(p) || p.find(' ') != std::string::npos) return false;
        out.path = p;
    }
    if (const Json* v = field(object, "token")) {
        // Sent in a header line: CR/LF or other control characters would break it.
        if (!v->is_string() || has_control_char(v->get_ref<const std::string&>())) return false;
        out.token = v->get<std::string>();
    }
    if (out.action == Action::start) {
        if (const Json* v = field(object, "codec")) {
            if (!v->is_string()) return false;
            auto codec = g711_from_name(v->get_ref<const std::string&>());
            if (!codec) return false;
            out.codec = codec;
        }
    }
    if (const Json* v = field(object, "metadata")) {
        if (!v->is_object()) return false;
        out.metadata = *v;
    }
    return true;
}

}  // namespace

ParseResult parse_request(std::string_view body) {
    ParseResult result;
    // Step 1.
    if (body.size() > max_body_bytes || !nesting_within(body, max_depth)) {
        result.error = reason::json_parse_failure;
        return result;
    }
    const Json object = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded() || !object.is_object()) {
        result.error = reason::json_parse_failure;
        return result;
    }
    const Json* action_field = field(object, "action");
    const Json* guid_field = field(object, "call-guid");
    result.call_guid = valid_guid(guid_field);
    result.action = action_of(action_field);

    // Step 2: what every action needs, then what the named action needs.
    if (action_field == nullptr || guid_field == nullptr) {
        result.error = reason::mandatory_missing;
        return result;
    }
    if (result.action == Action::start && (!field(object, "host") || !field(object, "port"))) {
        result.error = reason::mandatory_missing;
        return result;
    }
    if (result.action == Action::update && !field(object, "metadata")) {
        result.error = reason::mandatory_missing;
        return result;
    }
    // Step 3.
    if (!result.action) {
        result.error = reason::method_not_supported;
        return result;
    }
    // Step 4. STOP ignores every field but action and call-guid.
    ForkRequest request;
    request.action = *result.action;
    if (!result.call_guid || (request.action != Action::stop && !read_fields(object, request))) {
        result.error = reason::unexpected_format;
        return result;
    }
    request.call_guid = *result.call_guid;
    if (request.action == Action::start) {
        if (!request.secure) request.secure = true;
        if (!request.path) request.path = "/";
        if (!request.metadata) request.metadata = Json::object();
    }
    result.request = std::move(request);
    return result;
}

bool update_matches_start(const ForkRequest& update, const stream::Target& start) {
    if (update.host && *update.host != start.host) return false;
    if (update.port && *update.port != start.port) return false;
    if (update.secure && *update.secure != start.secure) return false;
    if (update.path && *update.path != start.path) return false;
    if (update.token && *update.token != start.token) return false;
    return true;
}

std::string_view to_string(Action action) {
    switch (action) {
        case Action::start:
            return "START";
        case Action::stop:
            return "STOP";
        case Action::update:
            return "UPDATE";
    }
    return "";
}

std::string_view codec_name(G711 codec) {
    return codec == G711::ulaw ? "g711ulaw" : "g711alaw";
}
std::uint8_t payload_type(G711 codec) {
    return codec == G711::ulaw ? 0 : 8;
}

std::optional<G711> g711_from_name(std::string_view name) {
    if (name == "g711ulaw") return G711::ulaw;
    if (name == "g711alaw") return G711::alaw;
    return std::nullopt;
}

}  // namespace voxfork::fork
