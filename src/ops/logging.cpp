// Logging, the event trace and alarms. The log goes to stderr (journald under
// systemd); alarms go to syslog facility local7 as well, where an operator's
// existing alarm collection for the hardware SBC already listens.
#include <syslog.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "voxfork/ops.hpp"

namespace voxfork::ops {
namespace {

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::debug:
            return spdlog::level::debug;
        case config::LogLevel::info:
            return spdlog::level::info;
        case config::LogLevel::warning:
            return spdlog::level::warn;
        case config::LogLevel::error:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

// openlog() keeps the pointer it is given: the tag must outlive the process's logging.
std::string& syslog_tag() {
    static std::string tag;
    return tag;
}

}  // namespace

void setup_logging(const std::string& tag, config::LogLevel level) {
    auto logger = std::make_shared<spdlog::logger>(tag, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %L %n: %v");
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);

    if (syslog_tag() != tag) {
        closelog();
        syslog_tag() = tag;
        openlog(syslog_tag().c_str(), LOG_PID | LOG_NDELAY, LOG_LOCAL7);
    }
}

void set_log_level(config::LogLevel level) {
    spdlog::default_logger()->set_level(to_spdlog(level));
}

void trace_global(std::string_view text) {
    spdlog::info("FORK_ET: TYPE = GLOBAL : {}", text);
}

void trace_call(std::uint64_t callid, std::string_view text) {
    spdlog::info("FORK_ET: TYPE = CALL : callid {} : {}", callid, text);
}

void raise_alarm(std::string_view text) {
    const std::string line = "%SIP-3-STREAM_SERVICE: " + std::string(text);
    spdlog::error("{}", line);
    syslog(LOG_LOCAL7 | LOG_ERR, "%s", line.c_str());
}

void AlarmedCounter::increment() {
    ++count_;
    if (count_ == 1 || count_ % 10 == 0) raise_alarm(std::to_string(count_) + " " + label_);
}

}  // namespace voxfork::ops
