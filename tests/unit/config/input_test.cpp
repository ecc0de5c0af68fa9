// Hostile input: binary data, invalid UTF-8, huge lines, random bytes, and
// files that are not files. Each must give clear errors, never a crash.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "test_support.hpp"

namespace voxfork::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::errors;
using testing::ok;

TEST(BinaryInput, NulAndControlBytesAreReportedPerLine) {
    const std::string text = std::string("hostname a\nhost\0name b\n", 23) + "codec\x01\nhostname c\x7f\n";
    EXPECT_THAT(errors(text), ElementsAre("2: line contains a control character (0x00) at column 5",
                                          "3: line contains a control character (0x01) at column 6",
                                          "4: line contains a control character (0x7f) at column 11"));
}

TEST(BinaryInput, InvalidUtf8IsReported) {
    EXPECT_THAT(errors("hostname \xff\xfe\n"), ElementsAre("1: line is not valid UTF-8 (byte 0xff at column 10)"));
    EXPECT_THAT(errors("hostname a\xc3\n"),
                ElementsAre(HasSubstr("1: line is not valid UTF-8 (byte 0xc3")));               // cut short
    EXPECT_THAT(errors("hostname \xc0\xaf\n"), ElementsAre(HasSubstr("not valid UTF-8")));      // overlong
    EXPECT_THAT(errors("hostname \xed\xa0\x80\n"), ElementsAre(HasSubstr("not valid UTF-8")));  // surrogate
    // Valid UTF-8 is fine where text is free, and refused where it is not.
    EXPECT_EQ(ok("dial-peer voice 1 voip\n description caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e\n")
                  .dial_peers.at(1)
                  .description,
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e");
    EXPECT_THAT(errors("hostname caf\xc3\xa9\n"), ElementsAre(HasSubstr("invalid NAME")));
}

TEST(HugeInput, ATenMegabyteLineIsOneErrorAndTheRestIsStillRead) {
    const std::string huge(10 * 1024 * 1024, 'a');
    EXPECT_THAT(errors("hostname a\n" + huge + "\nfoo\nhostname b\n"),
                ElementsAre("2: line too long (10485760 characters, the limit is 4096)", "3: unknown command \"foo\""));
    // The limit itself is accepted: a description line of exactly 4096 characters.
    const std::string line = " description " + std::string(4096 - 13, 'd');
    ASSERT_EQ(line.size(), 4096u);
    EXPECT_EQ(ok("dial-peer voice 1 voip\n" + line + "\n").dial_peers.at(1).description.size(), 4096u - 13);
    EXPECT_THAT(errors("dial-peer voice 1 voip\n" + line + "d\n"),
                ElementsAre(HasSubstr("2: line too long (4097 characters")));
}

TEST(HugeInput, ALongIndentedLineUnderABlock) {
    const std::string huge = std::string(5000, ' ') + "x";
    EXPECT_THAT(errors("dial-peer voice 1 voip\n" + huge + "\n codec g729\n"),
                ElementsAre(HasSubstr("2: line too long")));
}

// Random bytes and random mutations of a real file: parse must return, the
// errors must point at lines that exist, and whatever parses must print back.
int line_count(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
}

void check_survives(const std::string& text) {
    const auto result = parse(text, "fuzz.conf");
    EXPECT_EQ(result.config == nullptr, !result.errors.empty());
    for (const auto& e : result.errors) {
        EXPECT_GE(e.line, 1);
        EXPECT_LE(e.line, line_count(text));
        EXPECT_FALSE(e.message.empty());
    }
    if (result.config) {
        const auto again = parse(print(*result.config), "printed.conf");
        ASSERT_TRUE(again.config) << testing::joined(again.errors) << "\nfrom:\n" << text;
        EXPECT_EQ(*again.config, *result.config) << text;
    }
}

TEST(RandomInput, RandomBytesNeverCrash) {
    std::mt19937 rng(20240601);
    for (int round = 0; round < 200; ++round) {
        std::string text(rng() % 2000, '\0');
        for (auto& ch : text) ch = static_cast<char>(rng() % 256);
        check_survives(text);
    }
}

TEST(RandomInput, MutatedConfigurationsNeverCrashAndRoundTripWhenValid) {
    const std::string base =
        "hostname h\nvoice service voip\n rtp-port range 2000 3000\n ip address trusted list\n  ipv4 127.0.0.0 255.0.0.0\n"
        " sip\n  listen-port non-secure 5070\nmedia profile stream-service 9\n description d ! x\n proxy ip 127.0.0.1 port 3\n"
        "media class 9\n stream-service profile 9\ndial-peer voice 5 voip\n destination-pattern 1[2-3].T\n media-class 9\n"
        " session target dns:a.b:7\nip name-server 127.0.0.1:53\nend\n";
    const std::string alphabet = " \n!.:[]-T0123456789abcdenoipstv";
    std::mt19937 rng(7);
    int parsed = 0;
    for (int round = 0; round < 2000; ++round) {
        std::string text = base;
        for (int edits = 1 + static_cast<int>(rng() % 2); edits > 0; --edits) {
            const std::size_t at = rng() % text.size();
            switch (rng() % 3) {
                case 0:
                    text.erase(at, 1 + rng() % 3);
                    break;
                case 1:
                    text.insert(at, 1, alphabet[rng() % alphabet.size()]);
                    break;
                default:
                    text[at] = alphabet[rng() % alphabet.size()];
                    break;
            }
        }
        check_survives(text);
        parsed += parse(text, "m").config != nullptr;
    }
    // Enough mutants stay valid for the round-trip half of the check to mean something.
    EXPECT_GT(parsed, 40);
}

// ---- files ----

class ConfigFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("voxfork-config-test-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        const auto path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    std::filesystem::path dir_;
};

TEST_F(ConfigFiles, AGoodFileParses) {
    const auto path = write("good.conf", "hostname from-file\n");
    const auto result = parse_file(path);
    ASSERT_TRUE(result.config) << testing::joined(result.errors);
    EXPECT_EQ(result.config->hostname, "from-file");
}

TEST_F(ConfigFiles, ErrorsCarryThePathAsGiven) {
    const auto path = write("bad.conf", "hostname ok\nfoo\n");
    const auto result = parse_file(path);
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), path + ":2: unknown command \"foo\"");
}

TEST_F(ConfigFiles, MissingFile) {
    const auto path = (dir_ / "none.conf").string();
    const auto result = parse_file(path);
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), path + ": cannot open: No such file or directory");
}

TEST_F(ConfigFiles, Directory) {
    const auto result = parse_file(dir_.string());
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(), dir_.string() + ": is a directory, not a configuration file");
}

TEST_F(ConfigFiles, FifoAndDeviceAreNotRegularFiles) {
    const auto fifo = (dir_ / "fifo").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const auto& path : {fifo, std::string("/dev/zero")}) {
        const auto result = parse_file(path);  // must not block or read forever
        EXPECT_FALSE(result.config);
        ASSERT_EQ(result.errors.size(), 1u);
        EXPECT_EQ(result.errors[0].to_string(), path + ": not a regular file");
    }
}

// The first error parse_file gives, read as an unprivileged user: root reads
// any file whatever its mode, so as root the check runs in a child that drops
// to nobody first.
std::string first_error_unprivileged(const std::string& path) {
    if (::geteuid() != 0) {
        const auto result = parse_file(path);
        return result.errors.empty() ? "" : result.errors[0].to_string();
    }
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
        const auto result = parse_file(path);
        const std::string text = result.errors.empty() ? "" : result.errors[0].to_string();
        const bool written = ::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::_exit(written ? 0 : 3);
    }
    ::close(fds[1]);
    std::string text;
    char buffer[512];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    return text;
}

TEST_F(ConfigFiles, UnreadableFile) {
    const auto path = write("secret.conf", "hostname x\n");
    ASSERT_EQ(::chmod(path.c_str(), 0), 0);
    EXPECT_EQ(first_error_unprivileged(path), path + ": cannot open: Permission denied");
}

TEST_F(ConfigFiles, BinaryFileWithAHugeLine) {
    std::string text = "hostname ok\n";
    text += std::string(3 * 1024 * 1024, '\0');
    text += "\nfoo\n";
    const auto result = parse_file(write("blob.bin", text));
    EXPECT_FALSE(result.config);
    ASSERT_EQ(result.errors.size(), 2u);
    EXPECT_THAT(result.errors[0].message, HasSubstr("line too long (3145728 characters"));
    EXPECT_EQ(result.errors[1].line, 3);
}

TEST_F(ConfigFiles, EmptyFileIsTheDefaults) {
    const auto result = parse_file(write("empty.conf", ""));
    ASSERT_TRUE(result.config);
    EXPECT_EQ(*result.config, Config{});
}

}  // namespace
}  // namespace voxfork::config
