// Reading the file from disk, error text, and the Config helpers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "commands.hpp"

namespace voxfork::config {
namespace {

// Far beyond any real configuration; stops `-c /some/huge/file` from eating memory.
constexpr off_t max_file_size = 64 * 1024 * 1024;

ParseResult file_error(const std::string& path, std::string message) {
    ParseResult result;
    result.errors.push_back({path, 0, std::move(message)});
    return result;
}

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

std::string ConfigError::to_string() const {
    // Line 0: the file as a whole (missing, a directory, unreadable).
    if (line <= 0) return path + ": " + message;
    return path + ":" + std::to_string(line) + ": " + message;
}

ParseResult parse_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (fd.get() < 0) return file_error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return file_error(path, std::string("cannot read: ") + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return file_error(path, "is a directory, not a configuration file");
    if (!S_ISREG(st.st_mode)) return file_error(path, "not a regular file");
    if (st.st_size > max_file_size)
        return file_error(path, "file too large (" + std::to_string(st.st_size) + " bytes, at most " +
                                    std::to_string(max_file_size) + ")");

    std::string text;
    // One byte more than fstat says, so that reading the end needs no regrowth.
    text.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t filled = 0;
    for (;;) {
        if (filled == text.size()) {
            // The file may have grown since fstat; read on up to the limit.
            if (text.size() >= static_cast<std::size_t>(max_file_size))
                return file_error(path, "file too large (grew past 64 MiB while being read)");
            text.resize(std::min(text.size() + 4096, static_cast<std::size_t>(max_file_size)));
        }
        const ssize_t n = ::read(fd.get(), text.data() + filled, text.size() - filled);
        if (n < 0) {
            if (errno == EINTR) continue;
            return file_error(path, std::string("cannot read: ") + std::strerror(errno));
        }
        if (n == 0) break;
        filled += static_cast<std::size_t>(n);
    }
    text.resize(filled);
    return parse(text, path);
}

const StreamServiceProfile* Config::profile_for_dial_peer(std::uint32_t dial_peer_tag) const {
    const auto peer = dial_peers.find(dial_peer_tag);
    if (peer == dial_peers.end() || !peer->second.media_class) return nullptr;
    const auto media_class = media_classes.find(*peer->second.media_class);
    if (media_class == media_classes.end() || !media_class->second.stream_service_profile) return nullptr;
    const auto profile = stream_service_profiles.find(*media_class->second.stream_service_profile);
    return profile == stream_service_profiles.end() ? nullptr : &profile->second;
}

namespace detail {

void drop_explicit_defaults(Config& c) {
    auto& sip = c.voip.sip;
    if (sip.media_address == sip.control_address) sip.media_address.reset();
    if (sip.media_address_ipv6 && sip.media_address_ipv6 == sip.control_address_ipv6) sip.media_address_ipv6.reset();
    // All six suites is the default; the order carries nothing (they are offered in table order).
    for (auto& [tag, profile] : c.stream_service_profiles) {
        unsigned named = 0;
        for (const auto suite : profile.ciphersuites) named |= 1u << static_cast<unsigned>(suite);
        if (named == (1u << cipher_names.size()) - 1) profile.ciphersuites.clear();
    }
}

}  // namespace detail

std::optional<net::Address> Config::ip_host(std::string_view name) const {
    const auto it = ip_hosts.find(normalize_host_name(name));
    if (it == ip_hosts.end()) return std::nullopt;
    return it->second;
}

std::string normalize_host_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::string key(name);
    for (char& ch : key)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return key;
}

std::optional<std::string> Config::websocket_ca_file() const {
    if (!http_client_secure_trustpoint) return std::nullopt;
    const auto trustpoint = trustpoints.find(*http_client_secure_trustpoint);
    if (trustpoint == trustpoints.end()) return std::nullopt;
    return trustpoint->second.ca_file;
}

}  // namespace voxfork::config
