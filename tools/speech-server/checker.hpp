// Strict checking of what one connection's client sends, against
// /shared/spec/wire.md (voxfork.v1). Every message and frame is written to the
// recorder; every departure from the protocol is reported as a violation with a
// stable kind string (docs/speech-server.md lists them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "recorder.hpp"

namespace speech {

class ConnectionChecker {
public:
    ConnectionChecker(Recorder& recorder, std::uint64_t conn) : rec_(recorder), conn_(conn) {}

    void on_text(std::string_view text);
    // Returns the frame's channel id (0 when the frame is too short to name one).
    std::uint32_t on_binary(const std::uint8_t* data, std::size_t size);
    // The server itself sent STOP for `channel`.
    void on_server_stop(std::uint32_t channel);
    // The connection is gone: completes its channels' files and returns the
    // channels that were started and never stopped.
    std::vector<std::uint32_t> on_close();

    std::uint64_t frames() const { return frames_; }

private:
    struct Call {
        std::uint32_t caller = 0, callee = 0;
    };

    bool check_fields(const std::string& type, const nlohmann::json& msg);
    void check_start_order(const std::string& type, const nlohmann::json& msg, std::uint32_t channel);
    void on_start(const nlohmann::json& msg, std::uint32_t channel);
    void on_channel_message(const std::string& type, const nlohmann::json& msg, ChannelRecord& ch);
    void check_sequence(ChannelRecord& ch, std::uint32_t seq, std::uint32_t position, std::size_t length);
    void end(ChannelRecord& ch);
    void violation(std::uint32_t channel, std::string_view kind, const std::string& detail,
                   nlohmann::json extra = nlohmann::json::object());
    ChannelRecord* find(std::uint32_t channel);

    Recorder& rec_;
    std::uint64_t conn_;
    std::uint64_t frames_ = 0;
    std::unordered_map<std::uint32_t, ChannelRecord*> channels_;
    std::map<std::string, Call> calls_;  // by call-guid, while a channel of it is live
    std::string pending_caller_guid_;    // a caller START waits for its callee START
    bool pending_caller_ = false;
};

}  // namespace speech
