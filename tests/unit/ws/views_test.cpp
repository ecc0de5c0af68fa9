#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "views.hpp"

namespace voxfork::ws::detail {
namespace {

// The 13 lines the replaced SBCs showed, then the four of continuity (docs/websocket.md).
TEST(Statistics, SeventeenLinesInTheOrderOfTheSpec) {
    Statistics s;
    s.connections_active = 2;
    s.connections_created = 5;
    s.connections_closed = 3;
    s.forks_active = 4;
    s.forks_started = 12;
    s.forks_failed = 1;
    s.frames_sent = 104220;
    s.bytes_sent = 17926080;
    s.frames_dropped = 0;
    s.tcp_connection_failures = 0;
    s.http_connection_failures = 1;
    s.remote_websocket_closures = 0;
    s.tcp_closures = 0;
    s.reconnect_attempts = 7;
    s.reconnects_succeeded = 2;
    s.forks_resumed = 3;
    s.frames_replayed = 450;
    EXPECT_EQ(format_statistics(s),
              "WebSocket connections active: 2\n"
              "WebSocket connections created: 5\n"
              "WebSocket connections closed: 3\n"
              "Forks active: 4\n"
              "Forks started: 12\n"
              "Forks failed: 1\n"
              "Frames sent: 104220\n"
              "Bytes sent: 17926080\n"
              "Frames dropped: 0\n"
              "TCP connection failures: 0\n"
              "HTTP connection failures: 1\n"
              "Remote WebSocket closures: 0\n"
              "TCP closures: 0\n"
              "Reconnect attempts: 7\n"
              "Reconnects succeeded: 2\n"
              "Forks resumed after reconnect: 3\n"
              "Audio frames replayed: 450\n");
    EXPECT_EQ(to_json(s)["bytes_sent"], 17926080);
    EXPECT_EQ(to_json(s)["frames_replayed"], 450);
}

std::time_t feb7() {
    std::tm tm{};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 1;
    tm.tm_mday = 7;
    tm.tm_hour = 7;
    tm.tm_min = 47;
    tm.tm_sec = 27;
    return timegm(&tm);
}

TEST(ConnectionDetail, LayoutOfOperationsMd) {
    ConnectionView v;
    v.id = 60;
    v.total_sessions = 1;
    v.active_sessions = 1;
    v.secure = true;
    v.tls_version = "TLS1.2";
    v.cipher = "ECDHE-RSA-AES256-GCM-SHA384";
    v.token = "e2238f3a-e43c-3f54-a05a-dd2e4bd4631f";
    v.server = "10.1.40.50:8051";
    v.local = "10.2.10.10:52642";
    v.state = ConnState::open;
    v.connected_at = feb7();
    v.calls = {{58, 2}};
    EXPECT_EQ(format_connection_detail(v),
              "Id: 60\n"
              "Total session count: 1\n"
              "Active session count: 1\n"
              "Secure: Yes\n"
              "TLS Version: TLS1.2\n"
              "Cipher Suite: ECDHE-RSA-AES256-GCM-SHA384\n"
              "Auth Token: e2238f3a****\n"
              "Server Address: 10.1.40.50:8051\n"
              "Local Address: 10.2.10.10:52642\n"
              "State: Active\n"
              "Connected at: Feb 7 07:47:27 UTC\n"
              "\n"
              "Anchor leg cccallid          Data plane fork session id\n"
              "      58                      2\n");
}

TEST(ConnectionDetail, PlainConnectionWithoutTokenShowsNone) {
    ConnectionView v;
    v.id = 3;
    v.secure = false;
    v.tls_version = "TLS1.2";  // ignored for ws
    v.state = ConnState::connecting;
    const std::string text = format_connection_detail(v);
    EXPECT_NE(text.find("Secure: No\nTLS Version: none\nCipher Suite: none\nAuth Token: none\n"), std::string::npos);
    EXPECT_NE(text.find("State: Connecting\n"), std::string::npos);
    EXPECT_EQ(to_json(v)["auth_token"], "none");
}

TEST(ConnectionTable, OneRowPerConnection) {
    ConnectionView a;
    a.id = 1;
    a.server = "127.0.0.1:8000";
    a.local = "127.0.0.1:40000";
    a.state = ConnState::open;
    a.active_sessions = 2;
    a.total_sessions = 5;
    a.connected_at = feb7();
    const std::vector<ConnectionView> rows = {a};
    const std::string text = format_connection_table(rows);
    EXPECT_EQ(text.substr(0, text.find('\n')),
              "Id      Server                 Local                  Secure  State       Sessions  Connected at");
    EXPECT_NE(text.find("1       127.0.0.1:8000         127.0.0.1:40000        No      Active      2/5       "
                        "Feb 7 07:47:27 UTC\n"),
              std::string::npos);
}

TEST(History, NewestFirstRowsWithReason) {
    const std::vector<HistoryEntry> rows = {{2, "127.0.0.1:8000", "127.0.0.1:1", feb7(), feb7(), 3, "idle timeout"},
                                            {1, "127.0.0.1:8000", "127.0.0.1:2", feb7(), feb7(), 1, "TCP closed"}};
    const std::string text = format_history(rows);
    EXPECT_EQ(text.substr(0, text.find('\n')), "Id  Server  Local  Opened  Closed  Sessions  Reason");
    EXPECT_NE(text.find("\n2  127.0.0.1:8000  127.0.0.1:1  Feb 7 07:47:27 UTC  Feb 7 07:47:27 UTC  3  idle timeout\n"),
              std::string::npos)
        << text;
    EXPECT_LT(text.find("idle timeout"), text.find("TCP closed"));
    EXPECT_EQ(to_json(rows[1])["reason"], "TCP closed");
}

TEST(History, EveryRowSplitsIntoTheSevenFieldsOnTwoSpaces) {
    const std::vector<HistoryEntry> rows = {{7, "127.0.0.1:8000", "", feb7(), feb7(), 0, "clear command"}};
    const std::string text = format_history(rows);
    const std::string row = text.substr(text.find('\n') + 1);
    std::vector<std::string> fields;
    for (std::size_t at = 0;;) {
        const auto next = row.find("  ", at);
        fields.push_back(row.substr(at, next == std::string::npos ? row.size() - 1 - at : next - at));
        if (next == std::string::npos) break;
        at = next + 2;
    }
    EXPECT_EQ(fields, (std::vector<std::string>{"7", "127.0.0.1:8000", "-", "Feb 7 07:47:27 UTC", "Feb 7 07:47:27 UTC",
                                                "0", "clear command"}));
}

}  // namespace
}  // namespace voxfork::ws::detail
