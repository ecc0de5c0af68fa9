#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "voxfork/ops.hpp"

namespace {

// Captures what the default logger prints while a test runs.
class LogCapture {
public:
    LogCapture() : previous_(spdlog::default_logger()) {
        auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
        logger->set_pattern("%v");
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    std::string text() const { return out_.str(); }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST(AlarmedCounter, AlarmsAtOneAndEveryTenth) {
    LogCapture log;
    voxfork::ops::AlarmedCounter counter("HTTP connection failures");
    for (int i = 0; i < 25; ++i) counter.increment();
    EXPECT_EQ(counter.value(), 25u);
    EXPECT_EQ(log.text(),
              "%SIP-3-STREAM_SERVICE: 1 HTTP connection failures\n"
              "%SIP-3-STREAM_SERVICE: 10 HTTP connection failures\n"
              "%SIP-3-STREAM_SERVICE: 20 HTTP connection failures\n");
}

TEST(AlarmedCounter, ResetStartsTheCountAgain) {
    LogCapture log;
    voxfork::ops::AlarmedCounter counter("TCP closures");
    counter.increment();
    counter.increment();
    counter.reset();
    counter.increment();
    EXPECT_EQ(log.text(), "%SIP-3-STREAM_SERVICE: 1 TCP closures\n%SIP-3-STREAM_SERVICE: 1 TCP closures\n");
}

TEST(EventTrace, LinesHaveTheOperationsLayout) {
    LogCapture log;
    voxfork::ops::trace_global("WebSocket Connection creation successful for ws://127.0.0.1:8000");
    voxfork::ops::trace_call({58, {}, {}}, "Forking request START");
    EXPECT_EQ(log.text(),
              "FORK_ET: TYPE = GLOBAL : WebSocket Connection creation successful for ws://127.0.0.1:8000\n"
              "FORK_ET: TYPE = CALL : callid 58 : Forking request START\n");
}

// The original line first (docs/logs.md), unchanged; the Call-ID and the call-guid (once
// known) as trailing fields.
TEST(EventTrace, CallLinesEndWithTheCallIdAndTheGuid) {
    LogCapture log;
    voxfork::ops::trace_call({58, "a84b4c76e66710@10.0.0.1", {}}, "Forking request START");
    voxfork::ops::trace_call({58, "a84b4c76e66710@10.0.0.1", "8F3B2C1A0E7D11EF9A2B00505688C0DE"},
                             "Forking stopped (Forking stopped)");
    voxfork::ops::trace_call({58, "bad\r\nFORK_ET: forged", {}}, "Forking resumed");
    EXPECT_EQ(log.text(),
              "FORK_ET: TYPE = CALL : callid 58 : Forking request START : call-id a84b4c76e66710@10.0.0.1\n"
              "FORK_ET: TYPE = CALL : callid 58 : Forking stopped (Forking stopped) : call-id "
              "a84b4c76e66710@10.0.0.1 : call-guid 8F3B2C1A0E7D11EF9A2B00505688C0DE\n"
              "FORK_ET: TYPE = CALL : callid 58 : Forking resumed : call-id bad??FORK_ET: forged\n");
}
