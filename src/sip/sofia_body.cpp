#include "sofia_body.hpp"

#include <optional>

#include <sofia-sip/msg_header.h>

#include "multipart.hpp"
#include "text.hpp"

namespace voxfork::sip {

Body read_body(msg_content_type_t const* type, msg_payload_t const* payload) {
    Body body;
    // The type counts even without a payload: an empty fork body is still a
    // forking request (answered `JSON parse failure`), not one to relay.
    if (type && type->c_type) body.content_type = lower_case(type->c_type);
    const bool multipart = body.content_type.rfind("multipart/", 0) == 0;
    if (!payload || !payload->pl_data) {
        if (multipart) body.malformed = true;
        return body;
    }
    body.text.assign(payload->pl_data, payload->pl_len);
    if (!multipart) return body;
    // The boundary as the Content-Type names it, else the first line that
    // looks like a delimiter.
    // A quoted boundary is unquoted like a display name (RFC 2045's
    // quoted-string is RFC 3261's).
    char const* param = type ? msg_params_find(type->c_params, "boundary=") : nullptr;
    const std::string named = param ? display_name(param) : std::string();
    const std::optional<std::string_view> boundary =
        named.empty() ? multipart::find_boundary(body.text) : std::optional<std::string_view>(named);
    auto parts = boundary ? multipart::split(body.text, *boundary) : std::nullopt;
    if (parts) body.parts = std::move(*parts);
    if (body.parts.empty()) body.malformed = true;
    return body;
}

}  // namespace voxfork::sip
