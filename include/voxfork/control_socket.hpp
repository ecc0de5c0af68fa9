// The control socket: a Unix stream socket serving one command per line to
// the `voxfork` client (and to scripts).
//
// Wire format, one exchange per line the client sends:
//   client:  COMMAND LINE\n
//   daemon:  <status> <length>\n<length bytes of output>
// status is 0 when the command ran and 1 when it was rejected (the output is
// then "% Invalid input detected: <reason>"). A client may send many lines on
// one connection (the interactive prompt does).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace voxfork::ops {

class CommandRegistry;

struct ControlSocketLimits {
    std::size_t max_clients = 128;
    // A client that sends no command for this long is disconnected (as IOS's
    // exec-timeout ends an idle line).
    std::chrono::seconds idle_timeout{600};
};

class ControlSocket {
public:
    // Limits that keep one misbehaving client from hurting the others.
    static constexpr std::size_t max_line_bytes = 64 * 1024;
    using Limits = ControlSocketLimits;

    // When max_clients are connected, a new client is still served: the
    // client idle longest (never one whose command is running) makes room.
    ControlSocket(boost::asio::io_context& io, const CommandRegistry& commands, Limits limits = Limits{});
    ~ControlSocket();
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

    // Binds `path` (mode 0660). A stale socket file nobody answers on is
    // replaced; a live one (another daemon) is an error. Throws
    // std::runtime_error with the reason.
    void open(const std::string& path);
    // Stops accepting, drops the clients, removes the socket file.
    void close();

    std::size_t clients() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace voxfork::ops
