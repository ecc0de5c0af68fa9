// Operator output of the fork part: `show voip stream-service callid`, the
// qfp fork session counters, and the FORK_ET CALL trace texts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxfork/fork.hpp"

namespace voxfork::fork {

struct ChannelView {
    std::uint32_t id = 0;
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;
    std::uint64_t dropped = 0;
};

struct CallView {
    CallId anchor = 0;
    std::string call_guid;
    std::string state;  // connecting, active, paused, stopped
    std::string codec;  // g711ulaw / g711alaw
    std::uint32_t connection_id = 0;
    ChannelView channel[2];  // by media::Direction
    nlohmann::json metadata = nlohmann::json::object();
    stream::Description server;  // the protocol, its connections, what the server said
};

std::string render_call(const CallView& view);
nlohmann::json render_call_json(const CallView& view);

struct SessionView {
    std::uint64_t session_id = 0;
    CallId anchor = 0;
    std::string state;
    DataplaneTotals direction[2];
};

std::string render_sessions(const std::vector<SessionView>& sessions);
nlohmann::json render_sessions_json(const std::vector<SessionView>& sessions);

// FORK_ET CALL texts (docs/forking.md "Operator output", docs/logs.md).
namespace trace_text {
std::string request(std::string_view action);  // Forking request START
inline constexpr std::string_view initiated = "Forking initiated";
std::string paused(std::string_view reason);  // Forking paused (hold)
inline constexpr std::string_view resumed = "Forking resumed";
inline constexpr std::string_view updated = "Forking updated";
std::string stopped(std::string_view reason);   // Forking stopped (Forking stopped)
std::string rejected(std::string_view reason);  // Forking request rejected (GUID Mismatch)
std::string failed(std::string_view reason);    // Forking failed (DNS lookup failed)
}  // namespace trace_text

}  // namespace voxfork::fork
