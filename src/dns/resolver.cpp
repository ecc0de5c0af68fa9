// c-ares on the control-plane io_context: the channel's sockets are watched
// by Asio (non-owning descriptors) and one timer follows ares_timeout().
#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <map>
#include <mutex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <voxfork/dns.hpp>

namespace voxfork::dns {

namespace asio = boost::asio;

namespace {

// One c-ares channel and the name servers it asks. A reload that names
// other servers makes a new channel; lookups hold theirs until they end.
class AresChannel final : public std::enable_shared_from_this<AresChannel> {
public:
    explicit AresChannel(asio::io_context& io) : io_(io), timer_(io) {}

    bool init(const std::vector<config::NameServer>& servers) {
        static std::once_flag once;
        std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        ares_options options{};
        options.sock_state_cb = &AresChannel::on_sock_state;
        options.sock_state_cb_data = this;
        if (ares_init_options(&channel_, &options, ARES_OPT_SOCK_STATE_CB) != ARES_SUCCESS) {
            channel_ = nullptr;
            return false;
        }
        if (!servers.empty()) {
            std::string csv;
            for (const auto& s : servers) {
                if (!csv.empty()) csv += ',';
                csv += s.to_string();  // "192.0.2.1:53", "[2001:db8::1]:53": c-ares reads both
            }
            if (ares_set_servers_ports_csv(channel_, csv.c_str()) != ARES_SUCCESS) {
                spdlog::warn("dns: c-ares refused name servers {}", csv);
            }
        }
        return true;
    }

    ~AresChannel() {
        // Queries hold a reference, so none is pending; sockets are released
        // through on_sock_state during ares_destroy.
        if (channel_) ares_destroy(channel_);
        for (auto& [fd, w] : watches_) w->descriptor.release();
    }

    // AAAA and A at once (AF_UNSPEC): both families, whichever answer.
    void resolve(const std::string& name, Resolver::Handler done) {
        if (!channel_) {
            asio::post(io_, [done = std::move(done)] { done({}); });
            return;
        }
        auto* query = new Query{shared_from_this(), std::move(done)};
        ares_addrinfo_hints hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &AresChannel::on_addrinfo, query);
        arm_timer();
    }

private:
    struct Query {
        std::shared_ptr<AresChannel> self;
        Resolver::Handler done;
    };
    struct Watch {
        explicit Watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
        asio::posix::stream_descriptor descriptor;
        bool want_read = false, want_write = false;
        bool reading = false, writing = false;
        bool active = true;
    };

    static void on_addrinfo(void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<Query> query(static_cast<Query*>(arg));
        std::vector<net::Address> found;
        if (status == ARES_SUCCESS && result) {
            for (const ares_addrinfo_node* node = result->nodes; node; node = node->ai_next)
                if (auto address = net::Address::from_sockaddr(node->ai_addr)) found.push_back(*address);
        }
        if (result) ares_freeaddrinfo(result);
        if (status != ARES_SUCCESS) spdlog::debug("dns: c-ares lookup failed: {}", ares_strerror(status));
        auto addresses = connect_order(found);
        // Not from inside ares_process_fd: the handler may start new lookups.
        auto& io = query->self->io_;
        asio::post(io, [q = std::move(query), a = std::move(addresses)]() mutable { q->done(std::move(a)); });
    }

    static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<AresChannel*>(data);
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
        std::weak_ptr<AresChannel> weak = weak_from_this();
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
        std::weak_ptr<AresChannel> weak = weak_from_this();
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

std::shared_ptr<AresChannel> make_channel(asio::io_context& io, const std::vector<config::NameServer>& servers) {
    auto channel = std::make_shared<AresChannel>(io);
    if (!channel->init(servers)) spdlog::error("dns: c-ares channel could not be created");
    return channel;
}

class ResolverImpl final : public Resolver {
public:
    ResolverImpl(asio::io_context& io, config::ConfigPtr config)
        : io_(io), config_(std::move(config)), channel_(make_channel(io, config_->name_servers)) {}

    void resolve(const std::string& name, Handler done) override {
        std::optional<net::Address> known = parse_literal(name);
        if (!known) known = config_->ip_host(name);
        if (known) {
            asio::post(io_, [done = std::move(done), address = *known] { done({address}); });
            return;
        }
        channel_->resolve(name, std::move(done));
    }

    void reload(config::ConfigPtr config) override {
        const bool same_servers = config->name_servers == config_->name_servers;
        config_ = std::move(config);
        if (!same_servers) channel_ = make_channel(io_, config_->name_servers);
    }

private:
    asio::io_context& io_;
    config::ConfigPtr config_;
    std::shared_ptr<AresChannel> channel_;
};

}  // namespace

std::shared_ptr<Resolver> Resolver::create(asio::io_context& io, config::ConfigPtr config) {
    return std::make_shared<ResolverImpl>(io, std::move(config));
}

}  // namespace voxfork::dns
