// Name resolution shared by the parts that reach out to a name: the
// WebSocket pool (speech servers and proxies) and SIP (`session target
// dns:`). A name is an IP literal, an `ip host` entry or a DNS name looked
// up through c-ares (AAAA and A) at the `ip name-server`s, or at the
// system's resolvers when none is configured.
//
// Threads: everything runs on the control-plane io_context thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <voxfork/config.hpp>
#include <voxfork/net.hpp>

namespace boost::asio {
class io_context;
}

namespace voxfork::dns {

// An IP literal as a URL or a forking request writes a host: "192.0.2.1",
// "2001:db8::1" or "[2001:db8::1]" (brackets for IPv6 only); nullopt for a
// name or anything else.
std::optional<net::Address> parse_literal(std::string_view host);

// The order to try addresses in (RFC 8305 section 4): the families
// interleaved, IPv6 first, each family in the order given.
std::vector<net::Address> connect_order(std::span<const net::Address> addresses);

class Resolver {
public:
    // The addresses of the name in connect_order(), empty when it has none.
    using Handler = std::function<void(std::vector<net::Address> addresses)>;

    static std::shared_ptr<Resolver> create(boost::asio::io_context& io, config::ConfigPtr config);
    virtual ~Resolver() = default;

    // A literal answers itself and an `ip host` entry its address, without
    // DNS; any other name is asked for AAAA and A at once. `done` runs on
    // the io thread, never inside resolve().
    virtual void resolve(const std::string& name, Handler done) = 0;
    // `ip host` entries count from now on; new `ip name-server`s for lookups
    // started from now on (those under way end with the old ones).
    virtual void reload(config::ConfigPtr config) = 0;
};

}  // namespace voxfork::dns
