#include "voxfork/overload.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace voxfork::overload {
namespace {

using namespace std::chrono_literals;

// Small settings so that real time stays short; the waits below are generous,
// as a loaded test host adds lag of its own.
Settings quick() {
    Settings s;
    s.period = 5ms;
    s.enter_lag = 60ms;
    s.calm_lag = 40ms;
    s.recover_after = 100ms;
    return s;
}

// For tests about something other than lag: a loop that must not count as
// overloaded when the host itself stalls the test for a moment.
Settings stall_tolerant() {
    Settings s = quick();
    s.enter_lag = 1s;
    s.calm_lag = 500ms;
    return s;
}

// Runs the loop until `done` or 10 s.
template <class Done>
bool run_until(boost::asio::io_context& io, Done done) {
    const auto end = Clock::now() + 10s;
    while (!done() && Clock::now() < end) {
        io.run_for(5ms);
    }
    return done();
}

TEST(LoopLag, AnIdleLoopIsNotOverloaded) {
    boost::asio::io_context io;
    LoopLag lag(io, stall_tolerant());
    lag.start();
    io.run_for(50ms);
    EXPECT_FALSE(lag.overloaded());
    EXPECT_EQ(lag.counters().episodes, 0u);
}

TEST(LoopLag, AStalledLoopIsOverloadedThenRecovers) {
    boost::asio::io_context io;
    LoopLag lag(io, quick());
    lag.start();
    io.run_for(20ms);
    // A handler that keeps the loop from its timer, as a backlog does.
    boost::asio::post(io, [] { std::this_thread::sleep_for(150ms); });
    ASSERT_TRUE(run_until(io, [&] { return lag.counters().lag_ms_max >= 60; }));
    EXPECT_TRUE(lag.overloaded());
    EXPECT_EQ(lag.counters().episodes, 1u);
    ASSERT_TRUE(run_until(io, [&] { return !lag.overloaded(); })) << "never recovered";
    EXPECT_EQ(lag.counters().episodes, 1u);
}

TEST(LoopLag, ATickOverdueNowCountsBeforeItRuns) {
    // Asked while the loop is busy (the timer has not run yet): the overdue
    // time alone says so.
    boost::asio::io_context io;
    LoopLag lag(io, quick());
    // Readings on either side of start(), so that a stall of the test itself
    // cannot make the first one overdue.
    const auto before_start = Clock::now();
    lag.start();
    const auto after_start = Clock::now();
    EXPECT_FALSE(lag.overloaded(before_start));
    EXPECT_TRUE(lag.overloaded(after_start + 200ms));
    EXPECT_EQ(lag.counters().episodes, 1u);
    EXPECT_TRUE(lag.overloaded(after_start + 300ms));
    EXPECT_EQ(lag.counters().episodes, 1u) << "one episode, however often asked";
}

TEST(LoopLag, AFullReceiveQueueIsOverloadThoughTheTimerRunsOnTime) {
    // A loop that reads its input in bounded slices runs its timer on time
    // while requests pile up in the kernel.
    boost::asio::io_context io;
    LoopLag lag(io, stall_tolerant());
    double fill = 0.2;
    lag.watch_queue([&] { return fill; });
    lag.start();
    io.run_for(30ms);
    EXPECT_FALSE(lag.overloaded());
    fill = 0.6;
    ASSERT_TRUE(run_until(io, [&] { return lag.overloaded(); }));
    EXPECT_EQ(lag.counters().episodes, 1u);
    EXPECT_EQ(lag.counters().queue_fill_pct_max, 60u);
    fill = 0.2;  // still more than a calm queue
    io.run_for(150ms);
    EXPECT_TRUE(lag.overloaded());
    fill = 0.0;
    ASSERT_TRUE(run_until(io, [&] { return !lag.overloaded(); })) << "never recovered";
    EXPECT_EQ(lag.counters().episodes, 1u);
}

TEST(LoopLag, StoppedItSaysNothing) {
    boost::asio::io_context io;
    LoopLag lag(io, quick());
    EXPECT_FALSE(lag.overloaded(Clock::now() + 1h));
    lag.start();
    lag.stop();
    EXPECT_FALSE(lag.overloaded(Clock::now() + 1h));
    io.run_for(20ms);
}

}  // namespace
}  // namespace voxfork::overload
