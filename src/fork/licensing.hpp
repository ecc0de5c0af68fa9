// License counts (docs/controller.md "Licensing", docs/forking.md "Licensing"):
// live standard/enhanced/aggregate counts with a log line per change, peaks
// per interval, and a usage report at the end of every interval.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace voxfork::fork {

struct LicenseReport {
    std::chrono::system_clock::time_point time;  // end of the interval
    int interval_seconds = 0;
    std::uint64_t standard = 0;   // peak aggregate minus peak enhanced
    std::uint64_t enhanced = 0;   // peak enhanced
    std::uint64_t aggregate = 0;  // peak aggregate
};

class Licensing {
public:
    using Clock = std::chrono::system_clock;
    static constexpr std::size_t kept_reports = 10;

    Licensing(std::function<void(std::string_view)> log, int interval_seconds, Clock::time_point now);

    // A call is counted from its first completed offer/answer until it ends.
    void call_started(std::uint64_t call);
    // The call's fork sent START: it is enhanced until it ends (counted once).
    void fork_started(std::uint64_t call);
    void call_ended(std::uint64_t call);

    // Makes the reports of every interval that ended by `now`.
    void poll(Clock::time_point now);
    // Takes effect from the next interval.
    void set_interval(int seconds) { next_interval_ = seconds; }

    std::uint64_t standard() const { return standard_.size(); }
    std::uint64_t enhanced() const { return enhanced_.size(); }
    std::uint64_t aggregate() const { return standard() + enhanced(); }
    const std::deque<LicenseReport>& reports() const { return reports_; }  // newest first

    // `show voice sip license stats table`.
    std::string table() const;
    nlohmann::json table_json() const;  // the same rows, numbers as numbers

private:
    void note_peaks();

    std::function<void(std::string_view)> log_;
    std::set<std::uint64_t> standard_;
    std::set<std::uint64_t> enhanced_;
    int interval_;
    int next_interval_;
    Clock::time_point interval_end_;
    std::uint64_t peak_enhanced_ = 0;
    std::uint64_t peak_aggregate_ = 0;
    std::deque<LicenseReport> reports_;
};

std::string format_utc(std::chrono::system_clock::time_point time);  // 2026-11-24 22:10:00

}  // namespace voxfork::fork
