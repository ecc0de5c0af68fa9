#include "resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <map>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

namespace voxfork::ws::detail {

namespace asio = boost::asio;

namespace {

class AresResolver final : public Resolver, public std::enable_shared_from_this<AresResolver> {
public:
    explicit AresResolver(asio::io_context& io) : io_(io), timer_(io) {}

    bool init(const std::vector<config::NameServer>& servers) {
        static std::once_flag once;
        std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        ares_options options{};
        options.sock_state_cb = &AresResolver::on_sock_state;
        options.sock_state_cb_data = this;
        if (ares_init_options(&channel_, &options, ARES_OPT_SOCK_STATE_CB) != ARES_SUCCESS) {
            channel_ = nullptr;
            return false;
        }
        if (!servers.empty()) {
            std::string csv;
            for (const auto& s : servers) {
                if (!csv.empty()) csv += ',';
                csv += config::format_ipv4(s.address) + ":" + std::to_string(s.port);
            }
            if (ares_set_servers_ports_csv(channel_, csv.c_str()) != ARES_SUCCESS) {
                spdlog::warn("ws: c-ares refused name servers {}", csv);
            }
        }
        return true;
    }

    ~AresResolver() override {
        // Queries hold a reference, so none is pending; sockets are released
        // through on_sock_state during ares_destroy.
        if (channel_) ares_destroy(channel_);
        for (auto& [fd, w] : watches_) w->descriptor.release();
    }

    void resolve(const std::string& name, Handler done) override {
        if (!channel_) {
            asio::post(io_, [done = std::move(done)] { done({}); });
            return;
        }
        auto* query = new Query{shared_from_this(), std::move(done)};
        ares_gethostbyname(channel_, name.c_str(), AF_INET, &AresResolver::on_host, query);
        arm_timer();
    }

private:
    struct Query {
        std::shared_ptr<AresResolver> self;
        Handler done;
    };
    struct Watch {
        explicit Watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
        asio::posix::stream_descriptor descriptor;
        bool want_read = false, want_write = false;
        bool reading = false, writing = false;
        bool active = true;
    };

    static void on_host(void* arg, int status, int, hostent* host) {
        std::unique_ptr<Query> query(static_cast<Query*>(arg));
        std::vector<std::uint32_t> addresses;
        if (status == ARES_SUCCESS && host && host->h_addrtype == AF_INET) {
            for (char** p = host->h_addr_list; *p; ++p) {
                in_addr a{};
                std::memcpy(&a, *p, sizeof a);
                addresses.push_back(ntohl(a.s_addr));
            }
        }
        if (status != ARES_SUCCESS) spdlog::debug("ws: c-ares lookup failed: {}", ares_strerror(status));
        // Not from inside ares_process_fd: the handler may start new lookups.
        auto& io = query->self->io_;
        asio::post(io, [q = std::move(query), a = std::move(addresses)]() mutable { q->done(std::move(a)); });
    }

    static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<AresResolver*>(data);
        if (!readable && !writable) {
            auto it = self->watches_.find(fd);
            if (it != self->watches_.end()) {
                it->second->active = false;
                it->second->descriptor.release();
                self->watches_.erase(it);
            }
            return;
        }
        auto& w = self->watches_[fd];
        if (!w) w = std::make_shared<Watch>(self->io_, fd);
        w->want_read = readable;
        w->want_write = writable;
        self->arm(fd, w);
    }

    void arm(ares_socket_t fd, const std::shared_ptr<Watch>& w) {
        // Handlers keep the resolver alive only weakly: ares_destroy releases
        // every descriptor, which aborts the waits.
        std::weak_ptr<AresResolver> weak = weak_from_this();
        if (w->want_read && !w->reading) {
            w->reading = true;
            w->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                     [weak, w, fd](boost::system::error_code ec) {
                                         w->reading = false;
                                         auto self = weak.lock();
                                         if (ec || !w->active || !self) return;
                                         ares_process_fd(self->channel_, fd, ARES_SOCKET_BAD);
                                         if (w->active) self->arm(fd, w);
                                         self->arm_timer();
                                     });
        }
        if (w->want_write && !w->writing) {
            w->writing = true;
            w->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                     [weak, w, fd](boost::system::error_code ec) {
                                         w->writing = false;
                                         auto self = weak.lock();
                                         if (ec || !w->active || !self) return;
                                         ares_process_fd(self->channel_, ARES_SOCKET_BAD, fd);
                                         if (w->active) self->arm(fd, w);
                                         self->arm_timer();
                                     });
        }
    }

    void arm_timer() {
        timeval tv{};
        if (!ares_timeout(channel_, nullptr, &tv)) {
            timer_.cancel();
            return;
        }
        timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
        std::weak_ptr<AresResolver> weak = weak_from_this();
        timer_.async_wait([weak](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self) return;
            ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            self->arm_timer();
        });
    }

    asio::io_context& io_;
    asio::steady_timer timer_;
    ares_channel channel_ = nullptr;
    std::map<ares_socket_t, std::shared_ptr<Watch>> watches_;
};

}  // namespace

std::shared_ptr<Resolver> Resolver::create(asio::io_context& io, const std::vector<config::NameServer>& servers) {
    auto r = std::make_shared<AresResolver>(io);
    if (!r->init(servers)) spdlog::error("ws: c-ares channel could not be created");
    return r;
}

}  // namespace voxfork::ws::detail
