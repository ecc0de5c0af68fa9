// HTTP message signatures (RFC 9421) with HMAC-SHA256, as AudioHook signs its
// WebSocket upgrade: the signature base over the covered components, the
// `Signature-Input` and `Signature` field values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace voxfork::stream::audiohook {

// A covered component: its identifier ("@authority", "x-api-key") and value.
using Component = std::pair<std::string, std::string>;

// `("a" "b" ...);PARAMS`: the inner list of the identifiers, then the
// parameters as given (`keyid="k";created=1`...).
std::string signature_params(std::span<const Component> components, std::string_view parameters);

// RFC 9421 section 2.5: one `"identifier": value` line per component, then
// `"@signature-params": ...`, joined by LF with no LF at the end.
std::string signature_base(std::span<const Component> components, std::string_view signature_params);

std::string base64(std::string_view bytes);
// Standard padded base64; nullopt when `text` is not.
std::optional<std::string> decode_base64(std::string_view text);
std::string hmac_sha256(std::string_view key, std::string_view data);

struct SignatureFields {
    std::string input;      // Signature-Input
    std::string signature;  // Signature
};
// Signs the components with `key` (the secret's bytes) under `label`.
SignatureFields sign(std::string_view label, std::span<const Component> components, std::string_view parameters,
                     std::string_view key);

// AudioHook's profile of it: label `sig1`, the six components below in this
// order, and `keyid` (the API key), `nonce`, `alg`, `created`, `expires` in
// that order. `secret` is the client secret's bytes.
struct UpgradeIdentity {
    std::string request_target;  // path and query, as in the request line
    std::string authority;       // the Host header as sent: host:port
    std::string organization_id;
    std::string session_id;
    std::string correlation_id;
    std::string api_key;
};
SignatureFields sign_upgrade(const UpgradeIdentity& id, std::string_view nonce, long long created, long long expires,
                             std::string_view secret);

}  // namespace voxfork::stream::audiohook
