// Status bodies, server messages and operator text, byte for byte.
#include <gtest/gtest.h>

#include "messages.hpp"
#include "render.hpp"

namespace voxfork::fork {
namespace {

TEST(StatusBody, FieldsAndOrderOfForkingMd) {
    EXPECT_EQ(status::started(std::string("8F3B"), 60, 17, 18),
              R"({"call-guid":"8F3B","status":"STARTED","connection-id":60,"channels":{"caller":17,"callee":18}})");
    EXPECT_EQ(status::updated(std::string("G")), R"({"call-guid":"G","status":"UPDATED"})");
    EXPECT_EQ(status::paused(std::string("G"), "hold"), R"({"call-guid":"G","status":"PAUSED","reason":"hold"})");
    EXPECT_EQ(status::resumed(std::string("G"), G711::alaw),
              R"({"call-guid":"G","status":"RESUMED","codec":"g711alaw"})");
    EXPECT_EQ(status::stopped(std::string("G"), "Forking stopped"),
              R"({"call-guid":"G","status":"STOPPED","reason":"Forking stopped"})");
    EXPECT_EQ(status::error(std::nullopt, "JSON parse failure"), R"({"status":"ERROR","reason":"JSON parse failure"})");
}

TEST(StatusBody, GuidIsEscaped) {
    const auto body = status::error(std::string("a\"b"), "GUID Mismatch");
    EXPECT_EQ(nlohmann::json::parse(body)["call-guid"], "a\"b");
}

TEST(TraceText, LinesOfOperationsMd) {
    EXPECT_EQ(trace_text::request("START"), "Forking request START");
    EXPECT_EQ(trace_text::initiated, "Forking initiated");
    EXPECT_EQ(trace_text::paused("hold"), "Forking paused (hold)");
    EXPECT_EQ(trace_text::resumed, "Forking resumed");
    EXPECT_EQ(trace_text::stopped("Forking stopped"), "Forking stopped (Forking stopped)");
}

TEST(Render, SessionsTable) {
    SessionView s;
    s.session_id = 2;
    s.anchor = 58;
    s.state = "active";
    s.direction[0] = {10, 1720, 1};
    s.direction[1] = {9, 1548, 0};
    EXPECT_EQ(render_sessions({s}),
              "Session  Callid  State       Direction  Packets     Bytes         Dropped\n"
              "2        58      active      caller     10          1720          1\n"
              "2        58      active      callee     9           1548          0\n"
              "Total sessions: 1\n");
    EXPECT_EQ(render_sessions({}),
              "Session  Callid  State       Direction  Packets     Bytes         Dropped\nTotal sessions: 0\n");

    // `| json`: the same figures, as numbers.
    const auto json = render_sessions_json({s});
    EXPECT_EQ(json["total_sessions"], 1);
    ASSERT_EQ(json["sessions"].size(), 1u);
    const auto& row = json["sessions"][0];
    EXPECT_EQ(row["session"], 2);
    EXPECT_EQ(row["callid"], 58);
    EXPECT_EQ(row["state"], "active");
    EXPECT_EQ(row["directions"]["caller"], (nlohmann::json{{"packets", 10}, {"bytes", 1720}, {"dropped", 1}}));
    EXPECT_EQ(row["directions"]["callee"], (nlohmann::json{{"packets", 9}, {"bytes", 1548}, {"dropped", 0}}));
    EXPECT_EQ(render_sessions_json({}), (nlohmann::json{{"sessions", nlohmann::json::array()}, {"total_sessions", 0}}));
}

}  // namespace
}  // namespace voxfork::fork
