#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "voxfork/control_socket.hpp"
#include "voxfork/ops.hpp"

namespace {

namespace fs = std::filesystem;

// A raw client speaking the control-socket protocol.
class RawClient {
public:
    explicit RawClient(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
        timeval timeout{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }
    ~RawClient() { ::close(fd_); }
    bool connected() const { return connected_; }
    void send(const std::string& bytes) {
        for (std::size_t sent = 0; sent < bytes.size();) {
            ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<std::size_t>(n);
        }
    }
    // Reads one framed answer: "<status> <len>\n<body>"; "EOF" when the daemon hung up.
    std::string answer() {
        std::string header;
        char c;
        while (::recv(fd_, &c, 1, 0) == 1) {
            if (c == '\n') break;
            header += c;
        }
        if (header.empty()) return "EOF";
        const auto length = std::stoul(header.substr(2));
        std::string body(length, '\0');
        std::size_t got = 0;
        while (got < length) {
            ssize_t n = ::recv(fd_, body.data() + got, length - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        return header.substr(0, 1) + "|" + body;
    }

private:
    int fd_;
    bool connected_ = false;
};

class ControlSocketTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("voxfork-ctl-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        path_ = (dir_ / "ctl.sock").string();
        commands_.add("show ping", "", 0, [](const voxfork::ops::CommandArgs&) {
            return voxfork::ops::CommandOutput{"pong\n", {}};
        });
    }
    void TearDown() override {
        stop();
        fs::remove_all(dir_);
    }
    void start(voxfork::ops::ControlSocket::Limits limits = {}) {
        socket_ = std::make_unique<voxfork::ops::ControlSocket>(io_, commands_, limits);
        socket_->open(path_);
        work_.emplace(io_.get_executor());
        thread_ = std::thread([this] { io_.run(); });
    }
    void stop() {
        if (!thread_.joinable()) return;
        std::promise<void> closed;
        boost::asio::post(io_, [&] {
            socket_->close();
            closed.set_value();
        });
        closed.get_future().wait();
        work_.reset();
        io_.stop();
        thread_.join();
    }

    fs::path dir_;
    std::string path_;
    boost::asio::io_context io_;
    voxfork::ops::CommandRegistry commands_;
    std::unique_ptr<voxfork::ops::ControlSocket> socket_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::thread thread_;
};

}  // namespace

TEST_F(ControlSocketTest, AnswersCommandsInFramesOnOneConnection) {
    start();
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);

    RawClient client(path_);
    ASSERT_TRUE(client.connected());
    client.send("show ping\n");
    EXPECT_EQ(client.answer(), "0|pong\n");
    client.send("show pong\r\nshow ping\n");
    EXPECT_EQ(client.answer(), "1|% Invalid input detected at '^' marker.\nshow pong\n     ^\n");
    EXPECT_EQ(client.answer(), "0|pong\n");
}

TEST_F(ControlSocketTest, GarbageAndOverlongLinesGetAnErrorAndOthersAreServed) {
    start();
    RawClient garbage(path_);
    garbage.send(std::string("\x00\xff\x01garbage\n", 11));
    EXPECT_EQ(garbage.answer().substr(0, 2), "1|");

    RawClient huge(path_);
    huge.send(std::string(1024 * 1024, 'x') + "\nshow ping\n");
    const auto answer = huge.answer();
    EXPECT_NE(answer.find("longer than"), std::string::npos) << answer.substr(0, 100);
    EXPECT_EQ(huge.answer(), "0|pong\n");  // the rest of the long line was dropped, the next one served

    RawClient half(path_);
    half.send("show pi");  // and hang up mid-command
    RawClient after(path_);
    after.send("show ping\n");
    EXPECT_EQ(after.answer(), "0|pong\n");
}

TEST_F(ControlSocketTest, FiftyClientsAtOnce) {
    start();
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 50; ++i) {
        clients.push_back(std::make_unique<RawClient>(path_));
        ASSERT_TRUE(clients.back()->connected());
    }
    for (auto& c : clients) c->send("show ping\n");
    for (auto& c : clients) EXPECT_EQ(c->answer(), "0|pong\n");
}

// Idle connections cannot lock the operator out: when the socket is full,
// the client idle longest makes room for the new one.
TEST_F(ControlSocketTest, AFullSocketClosesTheClientIdleLongestForANewOne) {
    start({3, std::chrono::seconds(600)});
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<RawClient>(path_));
        clients.back()->send("show ping\n");
        EXPECT_EQ(clients.back()->answer(), "0|pong\n");  // each one active later than the one before
    }
    RawClient operator_(path_);
    operator_.send("show ping\n");
    EXPECT_EQ(operator_.answer(), "0|pong\n");
    EXPECT_EQ(clients[0]->answer(), "EOF");  // the one idle longest
    clients[1]->send("show ping\n");
    EXPECT_EQ(clients[1]->answer(), "0|pong\n");
}

TEST_F(ControlSocketTest, AClientIdleForTheTimeoutIsDisconnected) {
    // The busy client's pause is a tenth of the timeout: a loaded host would
    // have to stall the test or the socket's thread for 1.8 s to evict it.
    start({128, std::chrono::seconds(2)});
    RawClient idle(path_);
    RawClient busy(path_);
    for (int i = 0; i < 15; ++i) {  // 3 s of a command every 0.2 s
        busy.send("show ping\n");
        EXPECT_EQ(busy.answer(), "0|pong\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(idle.answer(), "EOF");
    busy.send("show ping\n");
    EXPECT_EQ(busy.answer(), "0|pong\n");
}

TEST_F(ControlSocketTest, StaleSocketFileIsReplacedLiveOneRefused) {
    {
        // A socket file left behind by a process that is gone.
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
        ::close(fd);
    }
    start();
    RawClient client(path_);
    client.send("show ping\n");
    EXPECT_EQ(client.answer(), "0|pong\n");

    boost::asio::io_context other_io;
    voxfork::ops::ControlSocket second(other_io, commands_);
    EXPECT_THROW(second.open(path_), std::runtime_error);
    EXPECT_TRUE(fs::exists(path_));
}

TEST_F(ControlSocketTest, CloseRemovesTheFile) {
    start();
    stop();
    EXPECT_FALSE(fs::exists(path_));
}

TEST_F(ControlSocketTest, RefusesAPathThatIsNotASocket) {
    { std::ofstream(path_) << "not a socket"; }
    voxfork::ops::ControlSocket socket(io_, commands_);
    EXPECT_THROW(socket.open(path_), std::runtime_error);
}
