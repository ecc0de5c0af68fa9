// IPv4 name resolution through c-ares on the control-plane io_context: the
// channel's sockets are watched by Asio (non-owning descriptors) and one timer
// follows ares_timeout(). `ip host` entries and literals are handled by the
// caller; this is DNS only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <voxfork/config.hpp>

namespace boost::asio {
class io_context;
}

namespace voxfork::ws::detail {

class Resolver {
public:
    // Addresses in host byte order, in the answer's order; empty on failure.
    using Handler = std::function<void(std::vector<std::uint32_t> addresses)>;

    // `servers` empty: the system resolver configuration.
    static std::shared_ptr<Resolver> create(boost::asio::io_context& io,
                                            const std::vector<config::NameServer>& servers);
    virtual ~Resolver() = default;
    // `done` runs on the io thread, never inside resolve().
    virtual void resolve(const std::string& name, Handler done) = 0;
};

}  // namespace voxfork::ws::detail
