// The client side of the control socket protocol (include/voxfork/control_socket.hpp).
#pragma once

#include <optional>
#include <string>

namespace voxfork::cli {

struct Answer {
    bool ok = false;     // the daemon ran the command
    std::string output;  // what it printed
};

class ControlClient {
public:
    ControlClient() = default;
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // Connects to the daemon; on failure returns false and sets `error`.
    bool connect(const std::string& socket_path, std::string& error);
    // Sends one command line and waits for its answer; nullopt when the
    // connection broke (`error` says why).
    std::optional<Answer> execute(const std::string& line, std::string& error);

private:
    bool read_exactly(std::string& out, std::size_t count);
    int fd_ = -1;
    std::string buffered_;
};

}  // namespace voxfork::cli
