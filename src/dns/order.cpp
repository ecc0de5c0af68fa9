#include <algorithm>

#include <voxfork/dns.hpp>

namespace voxfork::dns {

std::optional<net::Address> parse_literal(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        const auto inner = net::Address::parse(host.substr(1, host.size() - 2));
        if (inner && inner->is_v6()) return inner;
        return std::nullopt;
    }
    return net::Address::parse(host);
}

std::vector<net::Address> connect_order(std::span<const net::Address> addresses) {
    std::vector<net::Address> v6, v4;
    for (const auto& a : addresses) {
        auto& family = a.is_v6() ? v6 : v4;
        // One attempt per address, even when an answer repeats it.
        if (std::find(family.begin(), family.end(), a) == family.end()) family.push_back(a);
    }
    std::vector<net::Address> out;
    out.reserve(v6.size() + v4.size());
    for (std::size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
        if (i < v6.size()) out.push_back(v6[i]);
        if (i < v4.size()) out.push_back(v4[i]);
    }
    return out;
}

}  // namespace voxfork::dns
