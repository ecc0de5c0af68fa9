// Logging, the event trace and alarms. The log goes to stderr (journald under
// systemd); alarms go to syslog facility local7 as well, where an operator's
// existing alarm collection for the hardware SBC already listens.
#include <syslog.h>

#include <list>
#include <utility>

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

// The tag is written into the line pattern, not taken from the logger's
// name, so that a reload can change it on the logger every thread already
// uses (set_pattern takes the sink's lock; replacing the logger would not be safe).
std::string line_pattern(const std::string& tag) {
    std::string escaped;
    for (const char ch : tag) escaped += ch == '%' ? std::string("%%") : std::string(1, ch);
    return "%Y-%m-%d %H:%M:%S.%e %L " + escaped + ": %v";
}

// openlog() keeps the pointer it is given, and another thread may be in
// syslog() while the tag changes: every tag used stays alive until exit.
void open_syslog(const std::string& tag) {
    static std::list<std::string> tags;
    if (!tags.empty() && tags.back() == tag) return;
    tags.push_back(tag);
    closelog();
    openlog(tags.back().c_str(), LOG_PID | LOG_NDELAY, LOG_LOCAL7);
}

}  // namespace

void setup_logging(const std::string& tag, config::LogLevel level) {
    auto logger = std::make_shared<spdlog::logger>(tag, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern(line_pattern(tag));
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    open_syslog(tag);
}

void set_log_tag(const std::string& tag) {
    spdlog::default_logger()->set_pattern(line_pattern(tag));
    open_syslog(tag);
}

void set_log_level(config::LogLevel level) {
    spdlog::default_logger()->set_level(to_spdlog(level));
}

void trace_global(std::string_view text) {
    spdlog::info("FORK_ET: TYPE = GLOBAL : {}", text);
}

std::string call_fields(const CallRef& call) {
    // A Call-ID is one token in SIP; anything that would break the line
    // (a control character) or the field layout is left out of the log.
    auto field = [](std::string& out, std::string_view name, std::string_view value) {
        if (value.empty()) return;
        out += " : ";
        out += name;
        out += ' ';
        for (const char ch : value.substr(0, 256)) out += static_cast<unsigned char>(ch) < 0x20 ? '?' : ch;
    };
    std::string out;
    field(out, "call-id", call.sip_call_id);
    field(out, "call-guid", call.call_guid);
    return out;
}

void trace_call(const CallRef& call, std::string_view text) {
    spdlog::info("FORK_ET: TYPE = CALL : callid {} : {}{}", call.callid, text, call_fields(call));
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

bool LogThrottle::allow(Clock::time_point now, std::uint64_t& left_out) {
    if (now - second_start_ >= std::chrono::seconds(1)) {
        second_start_ = now;
        written_ = 0;
    }
    if (written_ >= per_second_) {
        ++left_out_;
        return false;
    }
    ++written_;
    left_out = std::exchange(left_out_, 0);
    return true;
}

std::string LogThrottle::note(std::uint64_t left_out) {
    return left_out == 0 ? std::string() : " (" + std::to_string(left_out) + " similar lines not logged)";
}

}  // namespace voxfork::ops
