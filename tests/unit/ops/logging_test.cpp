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

}  // namespace
