// License counts, log lines and reports with an injected clock.
#include <gtest/gtest.h>

#include <algorithm>

#include "licensing.hpp"

namespace voxfork::fork {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

const Clock::time_point t0 = Clock::from_time_t(1795557600);  // 2026-11-24 22:00:00 UTC

class LicensingTest : public ::testing::Test {
protected:
    std::vector<std::string> log_;
    Licensing lic_{[this](std::string_view s) { log_.emplace_back(s); }, 3600, t0};
};

TEST_F(LicensingTest, TheTwoLinesOfOperationsMd) {
    lic_.call_started(58);
    lic_.fork_started(58);
    lic_.call_ended(58);
    ASSERT_EQ(log_.size(), 3u);
    EXPECT_EQ(log_[0], "Standard Trunk call count: 1, Aggregate Trunk call count: 1 after call connected");
    EXPECT_EQ(log_[1],
              "Standard Trunk call count: 0, Enhanced Trunk call count: 1, Aggregate Trunk call count: 1 after "
              "WS_Fork_START");
    EXPECT_EQ(log_[2], "Enhanced Trunk call count: 0, Aggregate Trunk call count: 0 after call disconnected");
}

TEST_F(LicensingTest, StandardCallEndsWithItsOwnLine) {
    lic_.call_started(1);
    lic_.call_started(2);
    lic_.call_ended(1);
    EXPECT_EQ(log_.back(), "Standard Trunk call count: 1, Aggregate Trunk call count: 1 after call disconnected");
}

TEST_F(LicensingTest, ACallCountsOnceHoweverManyForks) {
    lic_.call_started(5);
    lic_.call_started(5);
    lic_.fork_started(5);
    lic_.fork_started(5);  // a second fork after STOP
    lic_.call_started(5);  // a re-INVITE's offer/answer
    EXPECT_EQ(lic_.standard(), 0u);
    EXPECT_EQ(lic_.enhanced(), 1u);
    EXPECT_EQ(lic_.aggregate(), 1u);
    EXPECT_EQ(log_.size(), 2u);
    lic_.call_ended(5);
    lic_.call_ended(5);
    EXPECT_EQ(lic_.aggregate(), 0u);
    EXPECT_EQ(log_.size(), 3u);
}

TEST_F(LicensingTest, ForkOnAnUnannouncedCallStillCounts) {
    lic_.fork_started(9);
    EXPECT_EQ(lic_.enhanced(), 1u);
    EXPECT_EQ(lic_.aggregate(), 1u);
}

TEST_F(LicensingTest, ReportUsesThePeaksOfTheInterval) {
    for (std::uint64_t c = 1; c <= 5; ++c) lic_.call_started(c);
    lic_.fork_started(1);
    lic_.fork_started(2);
    for (std::uint64_t c = 1; c <= 5; ++c) lic_.call_ended(c);
    lic_.call_started(10);
    lic_.poll(t0 + 3599s);
    EXPECT_TRUE(lic_.reports().empty());
    lic_.poll(t0 + 3600s);
    ASSERT_EQ(lic_.reports().size(), 1u);
    const auto& r = lic_.reports().front();
    EXPECT_EQ(r.time, t0 + 3600s);
    EXPECT_EQ(r.interval_seconds, 3600);
    EXPECT_EQ(r.aggregate, 5u);
    EXPECT_EQ(r.enhanced, 2u);
    EXPECT_EQ(r.standard, 3u);
    // The next interval starts from the call still up.
    lic_.poll(t0 + 7200s);
    ASSERT_EQ(lic_.reports().size(), 2u);
    EXPECT_EQ(lic_.reports().front().aggregate, 1u);
    EXPECT_EQ(lic_.reports().front().standard, 1u);
    EXPECT_EQ(lic_.reports().front().enhanced, 0u);
}

TEST_F(LicensingTest, TableKeepsTheLastTenNewestFirst) {
    for (int i = 1; i <= 12; ++i) {
        lic_.call_started(static_cast<std::uint64_t>(i));
        lic_.poll(t0 + std::chrono::seconds(3600 * i));
    }
    ASSERT_EQ(lic_.reports().size(), 10u);
    const std::string table = lic_.table();
    const std::string expected_head =
        "Index  Report time (UTC)    Interval(s)  Standard  Enhanced  Aggregate\n"
        "1      2026-11-25 10:00:00  3600         12        0         12\n"
        "2      2026-11-25 09:00:00  3600         11        0         11\n";
    EXPECT_EQ(table.substr(0, expected_head.size()), expected_head);
    EXPECT_NE(table.find("\n10     2026-11-25 01:00:00  3600         3         0         3\n"), std::string::npos);
    EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 11);
}

TEST_F(LicensingTest, LayoutMatchesOperationsMd) {
    for (std::uint64_t c = 1; c <= 16; ++c) lic_.call_started(c);
    for (std::uint64_t c = 1; c <= 4; ++c) lic_.fork_started(c);
    lic_.poll(t0 + 3600s);
    EXPECT_EQ(lic_.table(),
              "Index  Report time (UTC)    Interval(s)  Standard  Enhanced  Aggregate\n"
              "1      2026-11-24 23:00:00  3600         12        4         16\n");
}

TEST_F(LicensingTest, EmptyTableIsTheHeader) {
    EXPECT_EQ(lic_.table(), "Index  Report time (UTC)    Interval(s)  Standard  Enhanced  Aggregate\n");
    EXPECT_EQ(lic_.table_json(), (nlohmann::json{{"reports", nlohmann::json::array()}}));
}

TEST_F(LicensingTest, JsonTableHasTheRowsAsNumbers) {
    for (std::uint64_t c = 1; c <= 16; ++c) lic_.call_started(c);
    for (std::uint64_t c = 1; c <= 4; ++c) lic_.fork_started(c);
    lic_.poll(t0 + 3600s);
    lic_.poll(t0 + 7200s);
    const auto json = lic_.table_json();
    ASSERT_EQ(json["reports"].size(), 2u);
    EXPECT_EQ(json["reports"][1], (nlohmann::json{{"index", 2},
                                                  {"report_time_utc", "2026-11-24 23:00:00"},
                                                  {"interval_seconds", 3600},
                                                  {"standard", 12},
                                                  {"enhanced", 4},
                                                  {"aggregate", 16}}));
    EXPECT_EQ(json["reports"][0]["index"], 1);
    EXPECT_EQ(json["reports"][0]["report_time_utc"], "2026-11-25 00:00:00");
}

TEST_F(LicensingTest, MissedIntervalsAreReportedAndAHugeJumpIsBounded) {
    lic_.poll(t0 + 3 * 3600s + 10s);
    EXPECT_EQ(lic_.reports().size(), 3u);
    lic_.poll(t0 + 1000 * 3600s);
    EXPECT_EQ(lic_.reports().size(), 10u);
    EXPECT_EQ(lic_.reports().front().time, t0 + 13 * 3600s);
    // The schedule restarted from the jump: nothing more until an interval after it.
    lic_.poll(t0 + 1000 * 3600s + 3599s);
    EXPECT_EQ(lic_.reports().front().time, t0 + 13 * 3600s);
    lic_.poll(t0 + 1001 * 3600s);
    EXPECT_EQ(lic_.reports().front().time, t0 + 1001 * 3600s);
}

TEST_F(LicensingTest, NewIntervalAppliesFromTheNextReport) {
    lic_.set_interval(60);
    lic_.poll(t0 + 3600s);
    lic_.poll(t0 + 3660s);
    ASSERT_EQ(lic_.reports().size(), 2u);
    EXPECT_EQ(lic_.reports()[1].interval_seconds, 3600);
    EXPECT_EQ(lic_.reports()[0].interval_seconds, 60);
    EXPECT_EQ(lic_.reports()[0].time, t0 + 3660s);
}

}  // namespace
}  // namespace voxfork::fork
