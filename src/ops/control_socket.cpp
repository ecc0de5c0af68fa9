#include "voxfork/control_socket.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <filesystem>
#include <set>
#include <spdlog/spdlog.h>

#include "voxfork/ops.hpp"

namespace voxfork::ops {

namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;

namespace {

using Clock = std::chrono::steady_clock;

// One connected client: read a line, run it, write the answer, repeat.
class ClientSession : public std::enable_shared_from_this<ClientSession> {
public:
    using Closed = std::function<void(ClientSession*)>;

    ClientSession(stream_protocol::socket socket, const CommandRegistry& commands, Closed on_closed)
        : socket_(std::move(socket)),
          commands_(commands),
          on_closed_(std::move(on_closed)),
          input_(input_storage_, ControlSocket::max_line_bytes) {}

    void start() { read_line(); }
    void close() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }
    // Closed by the daemon (idle, or making room): gone from the list at once.
    void evict() { finish(); }
    // Waiting for the client's next line, and since when.
    bool waiting() const { return !busy_; }
    Clock::time_point last_active() const { return last_active_; }

private:
    void read_line() {
        asio::async_read_until(socket_, input_, '\n',
                               [self = shared_from_this()](auto ec, std::size_t n) { self->on_line(ec, n); });
    }

    void on_line(boost::system::error_code ec, std::size_t length) {
        if (ec == asio::error::not_found) {
            // The line outgrew the limit: answer once, then drop the rest of
            // that line as it arrives and carry on with the next one.
            input_.consume(input_.size());
            if (!discarding_) {
                discarding_ = true;
                return respond({false, "% Invalid input detected: command line longer than " +
                                           std::to_string(ControlSocket::max_line_bytes) + " bytes\n"});
            }
            return read_line();
        }
        if (ec) return finish();
        busy_ = true;
        last_active_ = Clock::now();
        std::string line = input_storage_.substr(0, length - 1);
        input_.consume(length);
        if (std::exchange(discarding_, false)) return read_line();  // the tail of an overlong line
        if (!line.empty() && line.back() == '\r') line.pop_back();
        respond(commands_.execute(line));
    }

    void respond(CommandResult result) {
        answer_ = (result.ok ? "0 " : "1 ") + std::to_string(result.text.size()) + "\n" + result.text;
        busy_ = true;
        asio::async_write(socket_, asio::buffer(answer_), [self = shared_from_this()](auto ec, std::size_t) {
            self->busy_ = false;
            self->last_active_ = Clock::now();
            if (ec) return self->finish();
            self->read_line();
        });
    }

    void finish() {
        close();
        if (on_closed_) std::exchange(on_closed_, nullptr)(this);
    }

    stream_protocol::socket socket_;
    const CommandRegistry& commands_;
    Closed on_closed_;
    std::string input_storage_;
    asio::dynamic_string_buffer<char, std::char_traits<char>, std::allocator<char>> input_;
    std::string answer_;
    bool discarding_ = false;  // inside a line that outgrew max_line_bytes
    bool busy_ = false;        // a command runs or its answer is being written
    Clock::time_point last_active_ = Clock::now();
};

bool someone_listens(const std::string& path, asio::io_context& io) {
    stream_protocol::socket probe(io);
    boost::system::error_code ec;
    probe.connect(stream_protocol::endpoint(path), ec);
    return !ec;
}

}  // namespace

struct ControlSocket::Impl : std::enable_shared_from_this<ControlSocket::Impl> {
    Impl(asio::io_context& io, const CommandRegistry& commands, Limits limits)
        : io(io), commands(commands), limits(limits), acceptor(io), sweep_timer(io) {}

    void accept() {
        acceptor.async_accept([self = shared_from_this()](auto ec, stream_protocol::socket socket) {
            if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
            if (!ec) self->admit(std::move(socket));
            self->accept();
        });
    }

    // The waiting client idle longest, or null when every one is busy.
    ClientSession* idlest() const {
        ClientSession* found = nullptr;
        for (const auto& s : sessions) {
            if (s->waiting() && (found == nullptr || s->last_active() < found->last_active())) found = s.get();
        }
        return found;
    }

    void admit(stream_protocol::socket socket) {
        if (sessions.size() >= limits.max_clients) {
            ClientSession* room = idlest();
            if (room == nullptr) {
                spdlog::warn("control socket: {} clients, all busy: refusing another", sessions.size());
                return;  // the socket closes as it goes out of scope
            }
            spdlog::warn("control socket: {} clients connected: closing the one idle longest ({} s) for a new one",
                         sessions.size(),
                         std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - room->last_active()).count());
            room->evict();
        }
        auto session =
            std::make_shared<ClientSession>(std::move(socket), commands, [weak = weak_from_this()](ClientSession* s) {
                if (auto self = weak.lock()) {
                    std::erase_if(self->sessions, [s](const auto& p) { return p.get() == s; });
                }
            });
        sessions.push_back(session);
        session->start();
    }

    // Idle clients are looked for a few times per timeout.
    void sweep() {
        sweep_timer.expires_after(std::max<Clock::duration>(limits.idle_timeout / 4, std::chrono::milliseconds(100)));
        sweep_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || !self->acceptor.is_open()) return;
            const auto now = Clock::now();
            std::vector<ClientSession*> idle;
            for (const auto& s : self->sessions)
                if (s->waiting() && now - s->last_active() >= self->limits.idle_timeout) idle.push_back(s.get());
            for (ClientSession* s : idle) {
                spdlog::info("control socket: a client idle for {} s disconnected", self->limits.idle_timeout.count());
                s->evict();
            }
            self->sweep();
        });
    }

    asio::io_context& io;
    const CommandRegistry& commands;
    Limits limits;
    stream_protocol::acceptor acceptor;
    asio::steady_timer sweep_timer;
    std::vector<std::shared_ptr<ClientSession>> sessions;
    std::string path;
};

ControlSocket::ControlSocket(asio::io_context& io, const CommandRegistry& commands, Limits limits)
    : impl_(std::make_shared<Impl>(io, commands, limits)) {}

ControlSocket::~ControlSocket() {
    close();
}

void ControlSocket::open(const std::string& path) {
    namespace fs = std::filesystem;
    if (path.empty()) throw std::runtime_error("control socket path is empty");
    if (path.size() >= sizeof(sockaddr_un::sun_path))
        throw std::runtime_error("control socket path " + path + " is too long for a Unix socket");

    std::error_code fs_ec;
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent, fs_ec);

    const auto status = fs::symlink_status(path, fs_ec);
    if (fs::exists(status)) {
        if (!fs::is_socket(status)) throw std::runtime_error("control socket " + path + " exists and is not a socket");
        if (someone_listens(path, impl_->io))
            throw std::runtime_error("control socket " + path + " is in use by another voxforkd");
        fs::remove(path, fs_ec);  // stale: left by a daemon that did not exit cleanly
    }

    boost::system::error_code ec;
    auto& acceptor = impl_->acceptor;
    acceptor.open(stream_protocol(), ec);
    if (!ec) acceptor.bind(stream_protocol::endpoint(path), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        acceptor.close();
        throw std::runtime_error("control socket " + path + ": " + ec.message());
    }
    ::chmod(path.c_str(), 0660);
    impl_->path = path;
    impl_->accept();
    impl_->sweep();
    spdlog::info("control socket listening on {}", path);
}

void ControlSocket::close() {
    if (!impl_) return;
    boost::system::error_code ec;
    if (impl_->acceptor.is_open()) impl_->acceptor.close(ec);
    impl_->sweep_timer.cancel();
    for (auto sessions = std::move(impl_->sessions); auto& s : sessions) s->close();
    if (!impl_->path.empty()) {
        ::unlink(impl_->path.c_str());
        impl_->path.clear();
    }
}

std::size_t ControlSocket::clients() const {
    return impl_->sessions.size();
}

}  // namespace voxfork::ops
