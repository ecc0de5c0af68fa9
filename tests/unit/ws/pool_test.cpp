// The pool on a real io_context against loopback ports that refuse, to check
// the failure path end to end: reason, counters and alarm points; and against
// a WebSocket server on the same io_context, for which connection a user gets.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <voxfork/ops.hpp>
#include <voxfork/ws.hpp>

#include "policy.hpp"

namespace voxfork::ws {
namespace {

namespace asio = boost::asio;

// A protocol that frames nothing and reads nothing: the tests here are about
// connecting, not about what flows. Given a place, it keeps there the Output
// it is handed while its connection is open.
class IdleHandler final : public Handler {
public:
    explicit IdleHandler(Output** output = nullptr) : output_(output) {}
    void on_open(Output& out) override {
        if (output_ != nullptr) *output_ = &out;
    }
    std::uint64_t drain(Output&) override { return 0; }
    void on_sent(std::uint32_t, std::size_t) override {}
    void on_dropped(std::uint32_t) override {}
    void on_text(std::string_view) override {}
    bool on_binary(std::span<const std::uint8_t>) override { return true; }
    void on_tick(std::chrono::steady_clock::time_point) override {}
    void on_closed() override {
        if (output_ != nullptr) *output_ = nullptr;
    }

private:
    Output** output_;
};

UserHandle attach(Pool& pool, const ConnectionKey& key, AttachCallback done, int max_users = 3) {
    return pool.attach(key, {}, max_users, [] { return std::make_unique<IdleHandler>(); }, std::move(done));
}

ConnectionKey key_for(std::string host, std::uint16_t port) {
    ConnectionKey key;
    key.host = std::move(host);
    key.port = port;
    return key;
}

std::uint16_t refused_port(const char* address = "127.0.0.1") {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address(address), 0});
    return a.local_endpoint().port();  // closed again when `a` goes
}

// Every name is these addresses: what a DNS answer with AAAA and A records
// gives the pool, without a DNS server.
class FixedResolver final : public dns::Resolver {
public:
    FixedResolver(asio::io_context& io, std::vector<net::Address> addresses) : io_(io), addresses_(addresses) {}
    void resolve(const std::string&, Handler done) override {
        asio::post(io_, [this, done = std::move(done)] { done(dns::connect_order(addresses_)); });
    }
    void reload(config::ConfigPtr) override {}

private:
    asio::io_context& io_;
    std::vector<net::Address> addresses_;
};

// A listening socket on ::1 whose accept queue is full: further SYNs are
// dropped, so a connect to it neither succeeds nor fails (a black hole).
class Ipv6BlackHole {
public:
    explicit Ipv6BlackHole(asio::io_context& io) : listener_(io) {
        listener_.open(asio::ip::tcp::v6());
        listener_.bind({asio::ip::make_address("::1"), 0});
        listener_.listen(0);
        // Plain non-blocking connects: Asio's synchronous connect would wait.
        const auto target = listener_.local_endpoint();
        for (int i = 0; i < 3; ++i) {
            const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
            (void)::connect(fd, target.data(), static_cast<socklen_t>(target.size()));
            fillers_.push_back(fd);
        }
    }
    ~Ipv6BlackHole() {
        for (int fd : fillers_) ::close(fd);
    }
    std::uint16_t port() const { return listener_.local_endpoint().port(); }

private:
    asio::ip::tcp::acceptor listener_;
    std::vector<int> fillers_;
};

// Accepts WebSocket upgrades and reads every message to the close: an
// open connection for the pool, on the test's own io_context.
class AcceptingServer {
public:
    explicit AcceptingServer(asio::io_context& io) : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
        accept();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    using Socket = boost::beast::websocket::stream<asio::ip::tcp::socket>;
    struct Peer {
        explicit Peer(asio::ip::tcp::socket s) : ws(std::move(s)) {}
        Socket ws;
        boost::beast::flat_buffer buffer;
    };

    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
            if (ec) return;
            auto peer = std::make_shared<Peer>(std::move(s));
            peer->ws.async_accept([this, peer](boost::system::error_code e) {
                if (!e) read(peer);
            });
            accept();
        });
    }
    void read(std::shared_ptr<Peer> peer) {
        peer->ws.async_read(peer->buffer, [this, peer](boost::system::error_code ec, std::size_t) {
            if (ec) return;
            peer->buffer.clear();
            read(peer);
        });
    }

    asio::ip::tcp::acceptor acceptor_;
};

class PoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        previous_ = spdlog::default_logger();
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
        auto logger = std::make_shared<spdlog::logger>("test", sink);
        logger->set_pattern("%v");
        spdlog::set_default_logger(logger);
    }
    void TearDown() override { spdlog::set_default_logger(previous_); }

    AttachResult attach_and_wait(Pool& pool, const ConnectionKey& key) {
        AttachResult got;
        bool done = false;
        attach(pool, key, [&](const AttachResult& r) {
            got = r;
            done = true;
        });
        io_.restart();
        while (!done && io_.run_one()) {
        }
        return got;
    }

    std::unique_ptr<Pool> make_pool(config::ConfigPtr config) {
        return Pool::create(io_, config, commands_, dns::Resolver::create(io_, config));
    }

    std::string log() const { return log_.str(); }

    asio::io_context io_;
    std::ostringstream log_;
    std::shared_ptr<spdlog::logger> previous_;
    ops::CommandRegistry commands_;
};

TEST_F(PoolTest, RefusedConnectionsFailCountAndAlarmAtOneAndEveryTenth) {
    auto config = std::make_shared<config::Config>();
    auto pool = make_pool(config);
    const ConnectionKey key = key_for("127.0.0.1", refused_port());
    for (int i = 1; i <= 12; ++i) {
        const auto r = attach_and_wait(*pool, key);
        EXPECT_EQ(r.reason, "Connection failed");
        EXPECT_EQ(r.connection_id, 0u);
    }
    EXPECT_EQ(pool->statistics().tcp_connection_failures, 12u);
    EXPECT_EQ(pool->statistics().connections_created, 0u);
    const std::string text = log();
    EXPECT_NE(text.find("%SIP-3-STREAM_SERVICE: 1 TCP connection failures\n"), std::string::npos);
    EXPECT_NE(text.find("%SIP-3-STREAM_SERVICE: 10 TCP connection failures\n"), std::string::npos);
    EXPECT_EQ(text.find("%SIP-3-STREAM_SERVICE: 2 TCP connection failures"), std::string::npos);
    EXPECT_EQ(text.find("%SIP-3-STREAM_SERVICE: 11 TCP connection failures"), std::string::npos);
    EXPECT_NE(text.find("FORK_ET: TYPE = GLOBAL : WebSocket Connection creation failed for ws://127.0.0.1:"),
              std::string::npos);

    // clear zeroes the event counters, so the next failure alarms at 1 again.
    auto cleared = commands_.execute("clear voip stream-service statistics");
    EXPECT_TRUE(cleared.ok) << cleared.text;
    EXPECT_EQ(pool->statistics().tcp_connection_failures, 0u);
    log_.str("");
    attach_and_wait(*pool, key);
    EXPECT_NE(log().find("%SIP-3-STREAM_SERVICE: 1 TCP connection failures\n"), std::string::npos);
}

// Host names are case-insensitive: the entry (stored as the config keeps
// names, lower-cased) serves the name however the request spells it.
TEST_F(PoolTest, IpHostEntryIsUsedBeforeDns) {
    auto config = std::make_shared<config::Config>();
    config->ip_hosts[config::normalize_host_name("Speech.Test")] = net::Address::v4(0x7f000001);
    // No name server answers here: only the ip host entry can resolve it.
    config->name_servers.push_back({net::Address::v4(0x7f000001), refused_port()});
    auto pool = make_pool(config);
    for (const char* name : {"speech.test", "SPEECH.test"}) {
        const auto r = attach_and_wait(*pool, key_for(name, refused_port()));
        EXPECT_EQ(r.reason, "Connection failed") << name;
    }
    const auto s = commands_.execute("show voip stream-service statistics");
    EXPECT_NE(s.text.find("TCP connection failures: 2\n"), std::string::npos) << s.text;
}

TEST_F(PoolTest, WaitingCallsShareTheConnectingConnectionAndAllFail) {
    auto config = std::make_shared<config::Config>();
    auto pool = make_pool(config);
    ConnectionKey key = key_for("127.0.0.1", refused_port());
    key.headers.emplace_back("Authorization", "Bearer tok");
    std::vector<AttachResult> results;
    for (int i = 0; i < 7; ++i) attach(*pool, key, [&](const AttachResult& r) { results.push_back(r); });
    io_.run();
    ASSERT_EQ(results.size(), 7u);
    for (const auto& r : results) EXPECT_EQ(r.reason, "Connection failed");
    // 7 users at 3 a connection needed three connection attempts.
    EXPECT_EQ(pool->statistics().tcp_connection_failures, 3u);
}

// TCP connects (the listen backlog takes it) but the upgrade is never
// answered: the connection stays `connecting`.
TEST_F(PoolTest, ConnectionTableListsOnlyOpenConnections) {
    asio::ip::tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
    auto pool = make_pool(std::make_shared<config::Config>());
    bool answered = false;
    attach(*pool, key_for("127.0.0.1", silent.local_endpoint().port()),
           [&](const AttachResult&) { answered = true; });
    io_.run_for(std::chrono::milliseconds(200));
    ASSERT_FALSE(answered);
    const auto table = commands_.execute("show voip stream-service connection");
    ASSERT_TRUE(table.ok) << table.text;
    EXPECT_EQ(table.text.find('\n'), table.text.size() - 1) << "header only:\n" << table.text;
    const auto server = commands_.execute("show voip stream-service server 127.0.0.1:" +
                                          std::to_string(silent.local_endpoint().port()));
    EXPECT_EQ(server.text.find("Connecting"), std::string::npos) << server.text;
    // Asked for by id, it is still shown.
    const auto one = commands_.execute("show voip stream-service connection id 1");
    EXPECT_TRUE(one.ok) << one.text;
    EXPECT_NE(one.text.find("State: Connecting\n"), std::string::npos) << one.text;
}

// Happy eyeballs (docs/websocket.md): the IPv6 address is tried first; when
// it refuses, the IPv4 one at once, and the TCP connection to it is the one
// the upgrade goes over (an HTTP failure, not a TCP one, is counted).
TEST_F(PoolTest, RefusingIpv6FallsBackToIpv4AtOnce) {
    asio::ip::tcp::acceptor v4(io_, {asio::ip::make_address("127.0.0.1"), 0});
    const std::uint16_t port = v4.local_endpoint().port();
    // Nothing listens on [::1]:port (a different socket family's port).
    auto config = std::make_shared<config::Config>();
    auto resolver = std::make_shared<FixedResolver>(
        io_, std::vector<net::Address>{net::Address::v4(0x7f000001), *net::Address::parse("::1")});
    auto pool = Pool::create(io_, config, commands_, resolver);
    std::chrono::steady_clock::time_point accepted;
    v4.async_accept([&](boost::system::error_code, asio::ip::tcp::socket s) {
        accepted = std::chrono::steady_clock::now();
        s.close();
    });
    const auto started = std::chrono::steady_clock::now();
    const auto r = attach_and_wait(*pool, key_for("speech.test", port));
    EXPECT_EQ(r.reason, "Connection failed");
    EXPECT_EQ(pool->statistics().tcp_connection_failures, 0u);
    EXPECT_EQ(pool->statistics().http_connection_failures, 1u);
    // Waiting for the delay would put the IPv4 connection at least that far
    // behind the start; the margin is the whole delay less one refused connect.
    EXPECT_LT(accepted - started, detail::connection_attempt_delay) << "the IPv4 attempt waited for the attempt delay";
    EXPECT_NE(log().find("ws: connecting to [::1]:" + std::to_string(port) + " failed"), std::string::npos) << log();
}

// The IPv6 address neither answers nor refuses: the IPv4 attempt starts
// 250 ms later and wins; the IPv6 attempt is abandoned.
TEST_F(PoolTest, SilentIpv6LosesToIpv4AfterTheAttemptDelay) {
    Ipv6BlackHole hole(io_);
    asio::ip::tcp::acceptor v4(io_, {asio::ip::make_address("127.0.0.1"), hole.port()});
    auto config = std::make_shared<config::Config>();
    auto resolver = std::make_shared<FixedResolver>(
        io_, std::vector<net::Address>{net::Address::v4(0x7f000001), *net::Address::parse("::1")});
    auto pool = Pool::create(io_, config, commands_, resolver);
    bool accepted = false;
    v4.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket s) {
        accepted = !ec;
        s.close();
    });
    const auto started = std::chrono::steady_clock::now();
    const auto r = attach_and_wait(*pool, key_for("speech.test", hole.port()));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(accepted);
    EXPECT_EQ(r.reason, "Connection failed");
    EXPECT_EQ(pool->statistics().tcp_connection_failures, 0u);
    EXPECT_EQ(pool->statistics().http_connection_failures, 1u);
    EXPECT_GE(took, std::chrono::milliseconds(240));
    // The IPv6 attempt would time out after 10 s; a loaded host may stall
    // this test for a while, so the bound stays well short of that only.
    EXPECT_LT(took, std::chrono::seconds(5)) << "IPv4 should not wait for the IPv6 attempt to time out";
}

// Every address refuses: one attempt, one TCP failure, each address logged.
TEST_F(PoolTest, EveryAddressRefusingIsOneTcpFailure) {
    const std::uint16_t port = refused_port("::1");
    auto config = std::make_shared<config::Config>();
    auto resolver = std::make_shared<FixedResolver>(
        io_, std::vector<net::Address>{*net::Address::parse("::1"), net::Address::v4(0x7f000001),
                                       net::Address::v4(0x7f000002)});
    auto pool = Pool::create(io_, config, commands_, resolver);
    const auto r = attach_and_wait(*pool, key_for("speech.test", port));
    EXPECT_EQ(r.reason, "Connection failed");
    EXPECT_EQ(pool->statistics().tcp_connection_failures, 1u);
    const std::string p = std::to_string(port);
    for (const std::string& address : {"[::1]:" + p, "127.0.0.1:" + p, "127.0.0.2:" + p})
        EXPECT_NE(log().find("ws: connecting to " + address + " failed"), std::string::npos) << address << log();
    EXPECT_NE(log().find("every address failed"), std::string::npos) << log();
}

// A socket bound to an IPv4 source-ip cannot reach an IPv6 address: only
// the IPv4 ones are tried (here the one that exists, which refuses).
TEST_F(PoolTest, SourceIpLimitsTheAttemptsToItsFamily) {
    const std::uint16_t port = refused_port();
    auto config = std::make_shared<config::Config>();
    config->stream_service_profiles[1].tag = 1;
    config->stream_service_profiles[1].source_ip = "127.0.0.1";
    auto resolver = std::make_shared<FixedResolver>(io_, std::vector<net::Address>{*net::Address::parse("::1")});
    auto pool = Pool::create(io_, config, commands_, resolver);
    ConnectionKey key = key_for("speech.test", port);
    key.profile_tag = 1;
    const auto r = attach_and_wait(*pool, key);
    EXPECT_EQ(r.reason, "Connection failed");
    EXPECT_NE(log().find("no address of source-ip 127.0.0.1's family"), std::string::npos) << log();
    EXPECT_EQ(log().find("connecting to [::1]"), std::string::npos) << log();
}

// A per-fork protocol's connection whose fork has ended stays open until its
// last message (raw's stop message, AudioHook's close) is written. A new fork
// to the same server in that moment gets a connection of its own: the closing
// one's handler is the old fork's, and its close would tell nobody.
TEST_F(PoolTest, ANewForkNeverJoinsAConnectionClosingAfterItsFork) {
    AcceptingServer server(io_);
    auto pool = make_pool(std::make_shared<config::Config>());
    const ConnectionKey key = key_for("127.0.0.1", server.port());
    // Attaches one fork of its own handler; back when the pool has answered.
    auto attach_fork = [&](Output*& output) {
        AttachResult result;
        bool done = false;
        pool->attach(key, {}, 1, [&] { return std::make_unique<IdleHandler>(&output); },
                     [&](const AttachResult& r) {
                         result = r;
                         done = true;
                     });
        while (!done && io_.run_one_for(std::chrono::seconds(5))) {
        }
        return result;
    };
    Output* first_output = nullptr;
    const AttachResult first = attach_fork(first_output);
    ASSERT_TRUE(first.ok()) << first.reason;
    while (first_output == nullptr && io_.run_one_for(std::chrono::seconds(5))) {
    }
    ASSERT_NE(first_output, nullptr);

    // The fork ends: its last message is being written when the next START comes.
    first_output->send_text(std::string(64 * 1024, 'x'));
    first_output->close_when_sent();
    pool->detach(first.user);
    Output* second_output = nullptr;
    const AttachResult second = attach_fork(second_output);
    ASSERT_TRUE(second.ok()) << second.reason;
    EXPECT_NE(second.connection_id, first.connection_id);
    EXPECT_NE(second_output, nullptr);
    EXPECT_EQ(pool->statistics().connections_created, 2u);
    bool stopped = false;
    pool->stop([&] { stopped = true; });
    while (!stopped && io_.run_one_for(std::chrono::seconds(5))) {
    }
    EXPECT_TRUE(stopped);
}

TEST_F(PoolTest, StopWithoutConnectionsCompletes) {
    auto pool = make_pool(std::make_shared<config::Config>());
    bool stopped = false;
    pool->stop([&] { stopped = true; });
    io_.run();
    EXPECT_TRUE(stopped);
    auto r = commands_.execute("show voip stream-service connection id 5");
    EXPECT_FALSE(r.ok);
}

}  // namespace
}  // namespace voxfork::ws
