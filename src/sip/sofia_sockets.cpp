#include "sofia_sockets.hpp"

#include <dirent.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace voxfork::sip {

std::set<int> epoll_descriptors() {
    std::set<int> fds;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return fds;
    while (dirent* entry = readdir(dir)) {
        char target[64] = {};
        std::string path = std::string("/proc/self/fd/") + entry->d_name;
        ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
        if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == "anon_inode:[eventpoll]")
            fds.insert(std::atoi(entry->d_name));
    }
    closedir(dir);
    return fds;
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

namespace {
int ignore_wakeup(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t*) {
    return 0;
}
}  // namespace

// Another thread may have made an epoll descriptor of its own meanwhile: a
// byte written to a pipe registered with the root tells which one is its.
int find_root_descriptor(su_root_t* root, const std::set<int>& candidates) {
    if (candidates.size() == 1) return *candidates.begin();
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return -1;
    su_wait_t wait[1];
    su_wait_create(wait, pipe_fds[0], SU_WAIT_IN);
    int index = su_root_register(root, wait, ignore_wakeup, nullptr, 0);
    int found = -1;
    if (write(pipe_fds[1], "x", 1) == 1)
        for (int fd : candidates)
            if (readable(fd)) found = fd;
    su_root_deregister(root, index);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return found;
}

int udp_receive_buffer(unsigned port) {
    int size = 0;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return 0;
    while (dirent* entry = readdir(dir)) {
        const int fd = std::atoi(entry->d_name);
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        int type = 0;
        socklen_t type_length = sizeof type;
        if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_DGRAM ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
            continue;
        const auto endpoint = net::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&address));
        if (!endpoint || endpoint->port != port) continue;
        int bytes = 0;
        socklen_t bytes_length = sizeof bytes;
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, &bytes_length) == 0) size = bytes;
    }
    closedir(dir);
    return size;
}

// sofia's tport API is not public: the sockets are found by their addresses.
int find_socket(const net::Endpoint& local, const std::optional<net::Endpoint>& peer) {
    const auto endpoint_of = [](int fd, auto get_name) -> std::optional<net::Endpoint> {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        if (get_name(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return std::nullopt;
        return net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&address));
    };
    int found = -1;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return found;
    while (dirent* entry = readdir(dir)) {
        if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
        const int fd = std::atoi(entry->d_name);
        int type = 0;
        socklen_t type_length = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 ||
            type != (peer ? SOCK_STREAM : SOCK_DGRAM) || endpoint_of(fd, ::getsockname) != local)
            continue;
        if (!peer || endpoint_of(fd, ::getpeername) == peer) found = fd;
    }
    closedir(dir);
    return found;
}

// SO_MEMINFO: the bytes queued against the buffer, both as the kernel
// counts them (with its bookkeeping).
double receive_queue_fill(int fd) {
    std::uint32_t info[SK_MEMINFO_VARS] = {};
    socklen_t size = sizeof info;
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &size) != 0 || info[SK_MEMINFO_RCVBUF] == 0) return 0;
    return static_cast<double>(info[SK_MEMINFO_RMEM_ALLOC]) / info[SK_MEMINFO_RCVBUF];
}

}  // namespace voxfork::sip
