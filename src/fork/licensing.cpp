// Log lines name the counts an event changed, then the aggregate: a fork START
// moves a call from standard to enhanced (both named), a call that ends leaves
// only its own class (the second and third example lines of docs/forking.md "Licensing").
#include "licensing.hpp"

#include <ctime>

#include <fmt/format.h>

namespace voxfork::fork {

Licensing::Licensing(std::function<void(std::string_view)> log, int interval_seconds, Clock::time_point now)
    : log_(std::move(log)),
      interval_(interval_seconds > 0 ? interval_seconds : 3600),
      next_interval_(interval_),
      interval_end_(now + std::chrono::seconds(interval_)) {}

void Licensing::call_started(std::uint64_t call) {
    if (enhanced_.count(call) != 0 || !standard_.insert(call).second) return;
    note_peaks();
    log_(fmt::format("Standard Trunk call count: {}, Aggregate Trunk call count: {} after call connected", standard(),
                     aggregate()));
}

void Licensing::fork_started(std::uint64_t call) {
    if (!enhanced_.insert(call).second) return;
    standard_.erase(call);
    note_peaks();
    log_(fmt::format(
        "Standard Trunk call count: {}, Enhanced Trunk call count: {}, Aggregate Trunk call count: {} after "
        "WS_Fork_START",
        standard(), enhanced(), aggregate()));
}

void Licensing::call_ended(std::uint64_t call) {
    if (enhanced_.erase(call) != 0) {
        log_(fmt::format("Enhanced Trunk call count: {}, Aggregate Trunk call count: {} after call disconnected",
                         enhanced(), aggregate()));
    } else if (standard_.erase(call) != 0) {
        log_(fmt::format("Standard Trunk call count: {}, Aggregate Trunk call count: {} after call disconnected",
                         standard(), aggregate()));
    }
}

void Licensing::note_peaks() {
    peak_enhanced_ = std::max(peak_enhanced_, enhanced());
    peak_aggregate_ = std::max(peak_aggregate_, aggregate());
}

void Licensing::poll(Clock::time_point now) {
    // A clock that jumped far ahead yields at most kept_reports reports, then
    // the schedule restarts from now.
    for (std::size_t made = 0; interval_end_ <= now; ++made) {
        if (made == kept_reports) {
            interval_end_ = now + std::chrono::seconds(interval_);
            break;
        }
        reports_.push_front(
            {interval_end_, interval_, peak_aggregate_ - peak_enhanced_, peak_enhanced_, peak_aggregate_});
        if (reports_.size() > kept_reports) reports_.pop_back();
        // The next interval's peaks start from the calls still up.
        peak_enhanced_ = enhanced();
        peak_aggregate_ = aggregate();
        interval_ = next_interval_;
        interval_end_ += std::chrono::seconds(interval_);
    }
}

std::string format_utc(std::chrono::system_clock::time_point time) {
    const std::time_t t = std::chrono::system_clock::to_time_t(time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string Licensing::table() const {
    std::string out = "Index  Report time (UTC)    Interval(s)  Standard  Enhanced  Aggregate\n";
    std::size_t index = 1;
    for (const auto& r : reports_) {
        out += fmt::format("{:<6} {:<20} {:<12} {:<9} {:<9} {}\n", index++, format_utc(r.time), r.interval_seconds,
                           r.standard, r.enhanced, r.aggregate);
    }
    return out;
}

nlohmann::json Licensing::table_json() const {
    nlohmann::json rows = nlohmann::json::array();
    std::size_t index = 1;
    for (const auto& r : reports_) {
        rows.push_back({{"index", index++},
                        {"report_time_utc", format_utc(r.time)},
                        {"interval_seconds", r.interval_seconds},
                        {"standard", r.standard},
                        {"enhanced", r.enhanced},
                        {"aggregate", r.aggregate}});
    }
    return {{"reports", std::move(rows)}};
}

}  // namespace voxfork::fork
