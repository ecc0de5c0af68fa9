#include "control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace voxfork::cli {

ControlClient::~ControlClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool ControlClient::connect(const std::string& socket_path, std::string& error) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(address.sun_path)) {
        error = "socket path too long";
        return false;
    }
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        error = std::strerror(errno);
        return false;
    }
    return true;
}

bool ControlClient::read_exactly(std::string& out, std::size_t count) {
    char chunk[65536];
    while (buffered_.size() < count) {
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        buffered_.append(chunk, static_cast<std::size_t>(n));
    }
    out = buffered_.substr(0, count);
    buffered_.erase(0, count);
    return true;
}

std::optional<Answer> ControlClient::execute(const std::string& line, std::string& error) {
    const std::string request = line + "\n";
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = std::strerror(errno);
            return std::nullopt;
        }
        sent += static_cast<std::size_t>(n);
    }

    // Header: "<status> <length>\n".
    std::string header;
    for (std::string byte; header.empty() || header.back() != '\n'; header += byte) {
        if (header.size() > 32 || !read_exactly(byte, 1)) {
            error = header.size() > 32 ? "malformed answer from the daemon" : "the daemon closed the connection";
            return std::nullopt;
        }
    }
    unsigned long long length = 0;
    char status = 0;
    if (std::sscanf(header.c_str(), "%c %llu", &status, &length) != 2 || (status != '0' && status != '1')) {
        error = "malformed answer from the daemon";
        return std::nullopt;
    }
    Answer answer;
    answer.ok = status == '0';
    if (!read_exactly(answer.output, length)) {
        error = "the daemon closed the connection";
        return std::nullopt;
    }
    return answer;
}

}  // namespace voxfork::cli
