#include "voxfork/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bit>
#include <charconv>
#include <cstring>

namespace voxfork::net {
namespace {

// inet_pton needs a terminated string; addresses are short, so a stack
// buffer keeps parsing allocation-free.
template <std::size_t N>
bool terminated(std::string_view text, char (&out)[N]) {
    if (text.empty() || text.size() >= N) return false;
    std::memcpy(out, text.data(), text.size());
    out[text.size()] = '\0';
    return true;
}

std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
    unsigned value = 0;
    // Digits only, all of them used, no leading zero: "080" is not a port.
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
    return value;
}

}  // namespace

Address Address::v4(std::uint32_t host_order) {
    Address a;
    a.bytes_[12] = static_cast<std::uint8_t>(host_order >> 24);
    a.bytes_[13] = static_cast<std::uint8_t>(host_order >> 16);
    a.bytes_[14] = static_cast<std::uint8_t>(host_order >> 8);
    a.bytes_[15] = static_cast<std::uint8_t>(host_order);
    return a;
}

Address Address::v6(const Bytes& network_order) {
    Address a;
    a.family_ = Family::v6;
    a.bytes_ = network_order;
    return a;
}

Address Address::loopback(Family family) {
    if (family == Family::v4) return v4(INADDR_LOOPBACK);
    Bytes bytes{};
    bytes[15] = 1;
    return v6(bytes);
}

Address Address::any(Family family) { return family == Family::v4 ? Address{} : v6(Bytes{}); }

std::optional<Address> Address::parse(std::string_view text) {
    char buffer[INET6_ADDRSTRLEN];
    if (!terminated(text, buffer)) return std::nullopt;
    if (text.find(':') == std::string_view::npos) {
        in_addr v4_address{};
        if (inet_pton(AF_INET, buffer, &v4_address) != 1) return std::nullopt;
        return v4(ntohl(v4_address.s_addr));
    }
    in6_addr v6_address{};
    if (inet_pton(AF_INET6, buffer, &v6_address) != 1) return std::nullopt;
    Bytes bytes;
    std::memcpy(bytes.data(), v6_address.s6_addr, bytes.size());
    return v6(bytes);
}

std::optional<Address> Address::from_sockaddr(const sockaddr* address) {
    if (address == nullptr) return std::nullopt;
    if (address->sa_family == AF_INET) {
        sockaddr_in v4_address;
        std::memcpy(&v4_address, address, sizeof v4_address);
        return v4(ntohl(v4_address.sin_addr.s_addr));
    }
    if (address->sa_family == AF_INET6) {
        sockaddr_in6 v6_address;
        std::memcpy(&v6_address, address, sizeof v6_address);
        Bytes bytes;
        std::memcpy(bytes.data(), v6_address.sin6_addr.s6_addr, bytes.size());
        return v6(bytes);
    }
    return std::nullopt;
}

std::uint32_t Address::v4_host_order() const {
    if (!is_v4()) return 0;
    return std::uint32_t{bytes_[12]} << 24 | std::uint32_t{bytes_[13]} << 16 |
           std::uint32_t{bytes_[14]} << 8 | bytes_[15];
}

bool Address::is_unspecified() const { return *this == any(family_); }

bool Address::is_loopback() const {
    if (is_v4()) return bytes_[12] == 127;
    return *this == loopback(Family::v6);
}

std::string Address::to_string() const {
    char buffer[INET6_ADDRSTRLEN];
    if (is_v4()) {
        inet_ntop(AF_INET, bytes_.data() + 12, buffer, sizeof buffer);
    } else {
        inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof buffer);
    }
    return buffer;
}

std::string Address::to_uri_host() const { return is_v4() ? to_string() : "[" + to_string() + "]"; }

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return std::nullopt;  // "[192.0.2.1]:80"
    } else {
        auto colon = text.find(':');
        if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
            return std::nullopt;  // no port, or an IPv6 address without brackets
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    auto address = Address::parse(host);
    auto number = parse_decimal(port, 65535);
    if (!address || !number || *number == 0) return std::nullopt;
    return Endpoint{*address, static_cast<std::uint16_t>(*number)};
}

std::optional<Endpoint> Endpoint::from_sockaddr(const sockaddr* address) {
    auto ip = Address::from_sockaddr(address);
    if (!ip) return std::nullopt;
    std::uint16_t port = 0;
    if (ip->is_v4()) {
        sockaddr_in v4_address;
        std::memcpy(&v4_address, address, sizeof v4_address);
        port = ntohs(v4_address.sin_port);
    } else {
        sockaddr_in6 v6_address;
        std::memcpy(&v6_address, address, sizeof v6_address);
        port = ntohs(v6_address.sin6_port);
    }
    return Endpoint{*ip, port};
}

std::string Endpoint::to_string() const { return address.to_uri_host() + ":" + std::to_string(port); }

unsigned Endpoint::to_sockaddr(sockaddr_storage& out) const {
    std::memset(&out, 0, sizeof out);
    if (address.is_v4()) {
        sockaddr_in v4_address{};
        v4_address.sin_family = AF_INET;
        v4_address.sin_port = htons(port);
        v4_address.sin_addr.s_addr = htonl(address.v4_host_order());
        std::memcpy(&out, &v4_address, sizeof v4_address);
        return sizeof v4_address;
    }
    sockaddr_in6 v6_address{};
    v6_address.sin6_family = AF_INET6;
    v6_address.sin6_port = htons(port);
    std::memcpy(v6_address.sin6_addr.s6_addr, address.bytes().data(), 16);
    std::memcpy(&out, &v6_address, sizeof v6_address);
    return sizeof v6_address;
}

std::optional<Network> Network::parse(std::string_view text) {
    auto slash = text.find('/');
    auto address = Address::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    if (slash == std::string_view::npos) return host(*address);
    auto length = parse_decimal(text.substr(slash + 1), address->is_v4() ? 32 : 128);
    if (!length) return std::nullopt;
    return Network{*address, static_cast<std::uint8_t>(*length)};
}

std::optional<Network> Network::from_ipv4_mask(std::uint32_t address, std::uint32_t mask) {
    // Contiguous: the ones, then only zeros (~mask + 1 is a power of two or 0).
    std::uint32_t inverted = ~mask;
    if ((inverted & (inverted + 1)) != 0) return std::nullopt;
    auto length = static_cast<std::uint8_t>(32 - std::popcount(inverted));
    return Network{Address::v4(address), length};
}

Network Network::host(const Address& address) {
    return Network{address, static_cast<std::uint8_t>(address.is_v4() ? 32 : 128)};
}

bool Network::contains(const Address& candidate) const {
    if (candidate.family() != address.family()) return false;
    // IPv4 lives in the last four bytes of the mapped form.
    unsigned bit = address.is_v4() ? 96 : 0;
    unsigned end = bit + prefix_length;
    const auto& a = address.bytes();
    const auto& b = candidate.bytes();
    for (; bit + 8 <= end; bit += 8) {
        if (a[bit / 8] != b[bit / 8]) return false;
    }
    if (bit == end) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - (end - bit)));
    return (a[bit / 8] & mask) == (b[bit / 8] & mask);
}

Network Network::without_host_bits() const {
    if (address.is_v4()) return Network{Address::v4(address.v4_host_order() & ipv4_mask()), prefix_length};
    auto bytes = address.bytes();
    for (unsigned bit = prefix_length; bit < 128; ++bit) {
        bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return Network{Address::v6(bytes), prefix_length};
}

std::uint32_t Network::ipv4_mask() const {
    if (!address.is_v4() || prefix_length == 0) return 0;
    return ~std::uint32_t{0} << (32 - prefix_length);
}

std::string Network::to_string() const { return address.to_string() + "/" + std::to_string(prefix_length); }

}  // namespace voxfork::net
