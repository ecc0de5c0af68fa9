// The log tag: `hostname` at start, and a reloaded `hostname` afterwards.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "voxfork/ops.hpp"

namespace {

std::string logged_with_tag(const std::function<void()>& before) {
    const auto previous = spdlog::default_logger();
    ::testing::internal::CaptureStderr();
    before();
    spdlog::info("a line");
    const std::string text = ::testing::internal::GetCapturedStderr();
    spdlog::set_default_logger(previous);
    return text;
}

TEST(Logging, HostnameIsTheTagAndAReloadChangesIt) {
    const auto first = logged_with_tag([] { voxfork::ops::setup_logging("sbc-one", voxfork::config::LogLevel::info); });
    EXPECT_NE(first.find(" I sbc-one: a line\n"), std::string::npos) << first;

    const auto second = logged_with_tag([] {
        voxfork::ops::setup_logging("sbc-one", voxfork::config::LogLevel::info);
        voxfork::ops::set_log_tag("sbc-two");
    });
    EXPECT_NE(second.find(" I sbc-two: a line\n"), std::string::npos) << second;
    EXPECT_EQ(second.find("sbc-one"), std::string::npos) << second;

    // The tag is literal text, not a pattern.
    const auto third = logged_with_tag([] {
        voxfork::ops::setup_logging("x", voxfork::config::LogLevel::info);
        voxfork::ops::set_log_tag("odd%v%n");
    });
    EXPECT_NE(third.find(" I odd%v%n: a line\n"), std::string::npos) << third;
}

// At most N lines in any second; the next line written carries how many
// were left out, and a new second starts the count again.
TEST(LogThrottle, AtMostNLinesASecondThenSaysHowManyWereLeftOut) {
    using Clock = voxfork::ops::LogThrottle::Clock;
    voxfork::ops::LogThrottle throttle(3);
    const Clock::time_point t0 = Clock::now();
    std::uint64_t left_out = 99;
    int written = 0;
    for (int i = 0; i < 10; ++i)
        if (throttle.allow(t0 + std::chrono::milliseconds(i * 10), left_out)) ++written;
    EXPECT_EQ(written, 3);
    EXPECT_EQ(left_out, 0u);
    EXPECT_TRUE(throttle.allow(t0 + std::chrono::milliseconds(1000), left_out));
    EXPECT_EQ(left_out, 7u);
    EXPECT_EQ(voxfork::ops::LogThrottle::note(left_out), " (7 similar lines not logged)");
    EXPECT_TRUE(throttle.allow(t0 + std::chrono::milliseconds(1001), left_out));
    EXPECT_EQ(left_out, 0u);
    EXPECT_EQ(voxfork::ops::LogThrottle::note(0), "");
}

}  // namespace
