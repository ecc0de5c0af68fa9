#include "stack.hpp"

#include "voxfork/config.hpp"

namespace voxfork::sip {

const std::string* Body::find(std::string_view type) const {
    if (parts.empty()) return content_type == type ? &text : nullptr;
    for (const auto& part : parts)
        if (part.content_type == type) return &part.text;
    return nullptr;
}

std::size_t Body::count(std::string_view type) const {
    if (parts.empty()) return content_type == type ? 1 : 0;
    std::size_t n = 0;
    for (const auto& part : parts) n += part.content_type == type ? 1 : 0;
    return n;
}

std::string display_name(std::string_view text) {
    if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::string(text);
    std::string name;
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
        if (text[i] == '\\' && i + 2 < text.size()) ++i;
        name += text[i];
    }
    return name;
}

std::string Address::to_string() const {
    return net::Endpoint{ip, port}.to_string();
}

}  // namespace voxfork::sip
