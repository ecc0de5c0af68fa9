#include "signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

}  // namespace voxfork::stream::audiohook
