#include "signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

namespace voxfork::stream::audiohook {

std::string signature_params(std::span<const Component> components, std::string_view parameters) {
    std::string out = "(";
    for (std::size_t i = 0; i < components.size(); ++i) {
        if (i > 0) out += ' ';
        out += '"' + components[i].first + '"';
    }
    out += ')';
    if (!parameters.empty()) out += ";" + std::string(parameters);
    return out;
}

std::string signature_base(std::span<const Component> components, std::string_view params) {
    std::string out;
    for (const auto& [id, value] : components) out += '"' + id + "\": " + value + '\n';
    out += "\"@signature-params\": " + std::string(params);
    return out;
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return std::nullopt;
    std::string out(3 * text.size() / 4, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t size = static_cast<std::size_t>(n);
    if (text.ends_with("==")) size -= 2;
    else if (text.ends_with('=')) size -= 1;
    out.resize(size);
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), digest, &size);
    return std::string(reinterpret_cast<const char*>(digest), size);
}

SignatureFields sign(std::string_view label, std::span<const Component> components, std::string_view parameters,
                     std::string_view key) {
    const std::string params = signature_params(components, parameters);
    const std::string mac = hmac_sha256(key, signature_base(components, params));
    return {std::string(label) + "=" + params, std::string(label) + "=:" + base64(mac) + ":"};
}

SignatureFields sign_upgrade(const UpgradeIdentity& id, std::string_view nonce, long long created, long long expires,
                             std::string_view secret) {
    const std::vector<Component> components = {{"@request-target", id.request_target},
                                               {"@authority", id.authority},
                                               {"audiohook-organization-id", id.organization_id},
                                               {"audiohook-session-id", id.session_id},
                                               {"audiohook-correlation-id", id.correlation_id},
                                               {"x-api-key", id.api_key}};
    const std::string parameters = "keyid=\"" + id.api_key + "\";nonce=\"" + std::string(nonce) +
                                   "\";alg=\"hmac-sha256\";created=" + std::to_string(created) +
                                   ";expires=" + std::to_string(expires);
    return sign("sig1", components, parameters, secret);
}

}  // namespace voxfork::stream::audiohook
