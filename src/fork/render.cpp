#include "render.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace voxfork::fork {
namespace {

constexpr std::string_view leg_names[2] = {"caller", "callee"};

}  // namespace

std::string render_call(const CallView& v) {
    std::string out;
    out += fmt::format("Call id: {}\n", v.anchor);
    out += fmt::format("Call-guid: {}\n", v.call_guid);
    out += fmt::format("State: {}\n", v.state);
    out += fmt::format("Codec: {}\n", v.codec);
    out += fmt::format("Connection id: {}\n", v.connection_id);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& c = v.channel[i];
        out += fmt::format("Channel {} ({})\n", c.id, leg_names[i]);
        out += fmt::format(" Frames sent: {}\n", c.frames);
        out += fmt::format(" Bytes sent: {}\n", c.bytes);
        out += fmt::format(" Frames dropped: {}\n", c.dropped);
    }
    out += fmt::format("Metadata: {}\n", v.metadata.dump());
    if (!v.server.protocol.empty()) {
        out += fmt::format("Protocol: {}\n", v.server.protocol);
        out += fmt::format("Connections: {}\n", fmt::join(v.server.connections, " "));
        out += fmt::format("Messages from the server: {}\n", v.server.server_messages);
        if (!v.server.latest_server_message.empty())
            out += fmt::format("Latest from the server: {}\n", v.server.latest_server_message);
    }
    return out;
}

nlohmann::json render_call_json(const CallView& v) {
    nlohmann::json channels = nlohmann::json::object();
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& c = v.channel[i];
        channels[std::string(leg_names[i])] = {
            {"channel", c.id}, {"frames_sent", c.frames}, {"bytes_sent", c.bytes}, {"frames_dropped", c.dropped}};
    }
    return {{"callid", v.anchor},    {"call_guid", v.call_guid},         {"state", v.state},
            {"codec", v.codec},      {"connection_id", v.connection_id}, {"channels", std::move(channels)},
            {"metadata", v.metadata},
            {"protocol", v.server.protocol},
            {"connections", v.server.connections},
            {"server_messages", v.server.server_messages},
            {"latest_server_message", v.server.latest_server_message}};
}

std::string render_sessions(const std::vector<SessionView>& sessions) {
    std::string out = fmt::format("{:<9}{:<8}{:<12}{:<11}{:<12}{:<14}{}\n", "Session", "Callid", "State", "Direction",
                                  "Packets", "Bytes", "Dropped");
    for (const auto& s : sessions) {
        for (std::size_t i = 0; i < 2; ++i) {
            const auto& d = s.direction[i];
            out += fmt::format("{:<9}{:<8}{:<12}{:<11}{:<12}{:<14}{}\n", s.session_id, s.anchor, s.state, leg_names[i],
                               d.packets_forked, d.bytes_forked, d.frames_dropped);
        }
    }
    out += fmt::format("Total sessions: {}\n", sessions.size());
    return out;
}

nlohmann::json render_sessions_json(const std::vector<SessionView>& sessions) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : sessions) {
        nlohmann::json directions = nlohmann::json::object();
        for (std::size_t i = 0; i < 2; ++i) {
            const auto& d = s.direction[i];
            directions[std::string(leg_names[i])] = {
                {"packets", d.packets_forked}, {"bytes", d.bytes_forked}, {"dropped", d.frames_dropped}};
        }
        rows.push_back({{"session", s.session_id},
                        {"callid", s.anchor},
                        {"state", s.state},
                        {"directions", std::move(directions)}});
    }
    return {{"sessions", std::move(rows)}, {"total_sessions", sessions.size()}};
}

namespace trace_text {
std::string request(std::string_view action) {
    return fmt::format("Forking request {}", action);
}
std::string paused(std::string_view reason) {
    return fmt::format("Forking paused ({})", reason);
}
std::string stopped(std::string_view reason) {
    return fmt::format("Forking stopped ({})", reason);
}
std::string rejected(std::string_view reason) {
    return fmt::format("Forking request rejected ({})", reason);
}
std::string failed(std::string_view reason) {
    return fmt::format("Forking failed ({})", reason);
}
}  // namespace trace_text

}  // namespace voxfork::fork
