#include "views.hpp"

#include <cstdio>

#include "policy.hpp"

namespace voxfork::ws::detail {

std::string_view to_string(ConnState s) {
    switch (s) {
        case ConnState::connecting:
            return "Connecting";
        case ConnState::open:
            return "Active";
        case ConnState::closing:
            return "Closing";
        case ConnState::reconnecting:
            return "Reconnecting";
    }
    return "?";
}

std::string format_time(std::time_t t) {
    if (t == 0) return "-";
    std::tm tm{};
    gmtime_r(&t, &tm);
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s %d %02d:%02d:%02d UTC", months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
    return buf;
}

namespace {
std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s + "  ";
}
std::string sessions(std::uint64_t active, std::uint64_t total) {
    return std::to_string(active) + "/" + std::to_string(total);
}
}  // namespace

std::string format_connection_table(std::span<const ConnectionView> rows) {
    std::string out = pad("Id", 6) + pad("Server", 21) + pad("Local", 21) + pad("Secure", 6) + pad("State", 10) +
                      pad("Sessions", 8) + "Connected at\n";
    for (const auto& c : rows) {
        out += pad(std::to_string(c.id), 6) + pad(c.server, 21) + pad(c.local, 21) + pad(c.secure ? "Yes" : "No", 6) +
               pad(std::string(to_string(c.state)), 10) + pad(sessions(c.active_sessions, c.total_sessions), 8) +
               format_time(c.connected_at) + "\n";
    }
    return out;
}

std::string format_connection_detail(const ConnectionView& c) {
    std::string out;
    out += "Id: " + std::to_string(c.id) + "\n";
    out += "Total session count: " + std::to_string(c.total_sessions) + "\n";
    out += "Active session count: " + std::to_string(c.active_sessions) + "\n";
    out += std::string("Secure: ") + (c.secure ? "Yes" : "No") + "\n";
    out += "TLS Version: " + (c.secure ? c.tls_version : std::string("none")) + "\n";
    out += "Cipher Suite: " + (c.secure ? c.cipher : std::string("none")) + "\n";
    out += "Auth Token: " + mask_token(c.token) + "\n";
    out += "Server Address: " + c.server + "\n";
    out += "Local Address: " + c.local + "\n";
    out += "State: " + std::string(to_string(c.state)) + "\n";
    out += "Connected at: " + format_time(c.connected_at) + "\n";
    out += "\nAnchor leg cccallid          Data plane fork session id\n";
    for (const auto& call : c.calls) {
        char line[80];
        std::snprintf(line, sizeof line, "%8llu                      %llu\n",
                      static_cast<unsigned long long>(call.anchor_callid),
                      static_cast<unsigned long long>(call.fork_session_id));
        out += line;
    }
    return out;
}

// The header is docs/websocket.md's ("Show and clear commands"), word for word; each row gives
// the same fields with the same two-space separator (no field holds two spaces in a row, so the
// line splits back into its fields).
std::string format_history(std::span<const HistoryEntry> rows) {
    std::string out = "Id  Server  Local  Opened  Closed  Sessions  Reason\n";
    const auto field = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
    for (const auto& h : rows) {
        out += std::to_string(h.id) + "  " + field(h.server) + "  " + field(h.local) + "  " + format_time(h.opened_at) +
               "  " + format_time(h.closed_at) + "  " + std::to_string(h.total_sessions) + "  " + field(h.reason) +
               "\n";
    }
    return out;
}

nlohmann::json to_json(const ConnectionView& c) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& call : c.calls)
        calls.push_back({{"anchor_callid", call.anchor_callid}, {"fork_session_id", call.fork_session_id}});
    return {{"id", c.id},
            {"url", c.url},
            {"server", c.server},
            {"local", c.local},
            {"secure", c.secure},
            {"tls_version", c.secure ? c.tls_version : "none"},
            {"cipher_suite", c.secure ? c.cipher : "none"},
            {"auth_token", mask_token(c.token)},
            {"state", to_string(c.state)},
            {"active_sessions", c.active_sessions},
            {"total_sessions", c.total_sessions},
            {"connected_at", format_time(c.connected_at)},
            {"calls", calls}};
}

nlohmann::json to_json(const HistoryEntry& h) {
    return {{"id", h.id},
            {"server", h.server},
            {"local", h.local},
            {"opened", format_time(h.opened_at)},
            {"closed", format_time(h.closed_at)},
            {"sessions", h.total_sessions},
            {"reason", h.reason}};
}

nlohmann::json to_json(const Statistics& s) {
    nlohmann::json by_protocol = nlohmann::json::object();
    for (const auto& [protocol, frames] : s.by_protocol)
        by_protocol[protocol] = {{"frames_sent", frames.sent}, {"bytes_sent", frames.bytes_sent},
                                 {"frames_dropped", frames.dropped}};
    return {{"connections_active", s.connections_active},
            {"connections_created", s.connections_created},
            {"connections_closed", s.connections_closed},
            {"forks_active", s.forks_active},
            {"forks_started", s.forks_started},
            {"forks_failed", s.forks_failed},
            {"frames_sent", s.frames_sent},
            {"bytes_sent", s.bytes_sent},
            {"frames_dropped", s.frames_dropped},
            {"tcp_connection_failures", s.tcp_connection_failures},
            {"http_connection_failures", s.http_connection_failures},
            {"remote_websocket_closures", s.remote_websocket_closures},
            {"tcp_closures", s.tcp_closures},
            {"reconnect_attempts", s.reconnect_attempts},
            {"reconnects_succeeded", s.reconnects_succeeded},
            {"forks_resumed", s.forks_resumed},
            {"frames_replayed", s.frames_replayed},
            {"frames_by_protocol", by_protocol}};
}

}  // namespace voxfork::ws::detail

namespace voxfork::ws {

std::string format_statistics(const Statistics& s) {
    auto line = [](const char* label, std::uint64_t v) { return std::string(label) + ": " + std::to_string(v) + "\n"; };
    return line("WebSocket connections active", s.connections_active) +
           line("WebSocket connections created", s.connections_created) +
           line("WebSocket connections closed", s.connections_closed) + line("Forks active", s.forks_active) +
           line("Forks started", s.forks_started) + line("Forks failed", s.forks_failed) +
           line("Frames sent", s.frames_sent) + line("Bytes sent", s.bytes_sent) +
           line("Frames dropped", s.frames_dropped) + line("TCP connection failures", s.tcp_connection_failures) +
           line("HTTP connection failures", s.http_connection_failures) +
           line("Remote WebSocket closures", s.remote_websocket_closures) + line("TCP closures", s.tcp_closures) +
           line("Reconnect attempts", s.reconnect_attempts) + line("Reconnects succeeded", s.reconnects_succeeded) +
           line("Forks resumed after reconnect", s.forks_resumed) + line("Audio frames replayed", s.frames_replayed);
}

}  // namespace voxfork::ws
