#include "protocol.hpp"

namespace speech {

std::string header(const Upgrade& upgrade, const char* name) {
    auto it = upgrade.headers.find(name);
    return it != upgrade.headers.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool lists(std::string_view header_value, std::string_view item) {
    while (!header_value.empty()) {
        auto comma = header_value.find(',');
        auto entry = header_value.substr(0, comma);
        while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
        while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
        if (entry == item) return true;
        if (comma == std::string_view::npos) break;
        header_value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace speech
