// IP addresses, endpoints and networks of either family: the one address
// type the parts share (config, sip, media, ws), so that no part keeps IPv4
// in a bare integer of its own. Values are small, copyable and compare by
// value; text is parsed strictly (no names, no zone ids, no shorthand such
// as "10.1") and printed in the canonical forms (RFC 5952 for IPv6).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;
struct sockaddr_storage;

namespace voxfork::net {

enum class Family : std::uint8_t { v4, v6 };

class Address {
public:
    using Bytes = std::array<std::uint8_t, 16>;

    Address() = default;  // 0.0.0.0
    static Address v4(std::uint32_t host_order);
    static Address v6(const Bytes& network_order);
    static Address loopback(Family family);
    static Address any(Family family);
    // "192.0.2.1" or "2001:db8::1" (bare; brackets belong to endpoints).
    static std::optional<Address> parse(std::string_view text);
    // From a socket address of either family; nullopt for any other.
    static std::optional<Address> from_sockaddr(const sockaddr* address);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::v4; }
    bool is_v6() const { return family_ == Family::v6; }
    // An IPv4 address in host byte order; 0 for an IPv6 one.
    std::uint32_t v4_host_order() const;
    // IPv6 in network order; an IPv4 address as its v4-mapped form.
    const Bytes& bytes() const { return bytes_; }
    bool is_unspecified() const;
    bool is_loopback() const;

    // "192.0.2.1", "2001:db8::1".
    std::string to_string() const;
    // How a URI or SDP-free text names it: "192.0.2.1", "[2001:db8::1]".
    std::string to_uri_host() const;

    auto operator<=>(const Address&) const = default;

private:
    Family family_ = Family::v4;
    // v4 kept v4-mapped (::ffff:a.b.c.d) so that both families share one
    // layout and the prefix arithmetic of Network.
    Bytes bytes_ = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
};

// An address and a port: "192.0.2.1:5060", "[2001:db8::1]:5060".
struct Endpoint {
    Address address;
    std::uint16_t port = 0;

    // The forms above; an IPv6 address must be in brackets, the port is
    // required and 1..65535.
    static std::optional<Endpoint> parse(std::string_view text);
    static std::optional<Endpoint> from_sockaddr(const sockaddr* address);

    std::string to_string() const;
    // Fills `out` for bind/connect/sendto; returns the length to pass.
    unsigned to_sockaddr(sockaddr_storage& out) const;

    auto operator<=>(const Endpoint&) const = default;
};

// A network: an address and a prefix length of its family.
struct Network {
    Address address;
    std::uint8_t prefix_length = 32;

    // "10.0.0.0/8", "2001:db8::/32", or a bare address (a host network).
    // The address is kept as written; contains() compares the prefix only.
    static std::optional<Network> parse(std::string_view text);
    // An IPv4 network from a dotted mask ("10.0.0.0", "255.0.0.0"), as the
    // IOS-style `ipv4 ADDRESS MASK` form writes it; nullopt when the mask is
    // not contiguous.
    static std::optional<Network> from_ipv4_mask(std::uint32_t address, std::uint32_t mask);
    static Network host(const Address& address);

    // Same family and the first prefix_length bits equal. An IPv4 network
    // does not contain an IPv4-mapped IPv6 address: the daemon's sockets
    // report IPv4 peers as IPv4.
    bool contains(const Address& candidate) const;
    // The network with the bits past the prefix cleared ("10.1.2.3/8" ->
    // "10.0.0.0/8"), as IOS stores a network entered with host bits set.
    Network without_host_bits() const;
    // The IPv4 mask for an IPv4 network (host order).
    std::uint32_t ipv4_mask() const;
    // "10.0.0.0/8", "2001:db8::/32".
    std::string to_string() const;

    auto operator<=>(const Network&) const = default;
};

}  // namespace voxfork::net
