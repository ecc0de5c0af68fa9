// What the show commands print about connections, as plain values, and the
// pure functions that format them (unit-tested without a pool).
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <voxfork/ws.hpp>

namespace voxfork::ws::detail {

// reconnecting: lost, being reconnected within the profile's reconnect window.
enum class ConnState { connecting, open, closing, reconnecting };
std::string_view to_string(ConnState s);  // Connecting, Active, Closing, Reconnecting

struct ConnectionView {
    std::uint32_t id = 0;
    std::string url;
    std::string server;  // ip:port (host:port through a proxy)
    std::string local;
    bool secure = false;
    std::string tls_version = "none";
    std::string cipher = "none";
    std::string token;
    ConnState state = ConnState::connecting;
    std::uint64_t active_sessions = 0;
    std::uint64_t total_sessions = 0;
    std::time_t connected_at = 0;
    std::vector<CallLabel> calls;
};

struct HistoryEntry {
    std::uint32_t id = 0;
    std::string server;
    std::string local;
    std::time_t opened_at = 0;
    std::time_t closed_at = 0;
    std::uint64_t total_sessions = 0;
    std::string reason;  // idle timeout, clear command, remote close, TCP closed, shutdown
};

// `Feb 7 07:47:27 UTC`
std::string format_time(std::time_t t);

std::string format_connection_table(std::span<const ConnectionView> rows);
std::string format_connection_detail(const ConnectionView& c);
std::string format_history(std::span<const HistoryEntry> rows);

nlohmann::json to_json(const ConnectionView& c);
nlohmann::json to_json(const HistoryEntry& h);
nlohmann::json to_json(const Statistics& s);

}  // namespace voxfork::ws::detail
