// voxfork.v1 (docs/speech-server-protocol.md): strict checking of what one connection's client sends.
// Every message and frame is written to the recorder; every departure from the
// protocol is reported as a violation with a stable kind string
// (docs/speech-server.md lists them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol.hpp"
#include "recorder.hpp"

namespace speech {

inline constexpr std::string_view voxfork_v1_subprotocol = "voxfork.v1";

class VoxforkV1 final : public Protocol {
public:
    VoxforkV1(const Options& options, Recorder& recorder, std::uint64_t conn)
        : options_(options), rec_(recorder), conn_(conn) {}

    // `Authorization: Bearer <--token>`; the subprotocol voxfork.v1 offered.
    Verdict judge(const Upgrade& upgrade) override;
    void on_text(std::string_view text) override;
    // Returns the frame's channel id (0 when the frame is too short to name one).
    std::uint32_t on_binary(const std::uint8_t* data, std::size_t size) override;
    // STOP for `channel`, sent by the server itself.
    std::optional<std::string> server_stop(std::uint32_t channel, const std::string& reason) override;
    // Channels that were started and never stopped.
    std::vector<std::uint32_t> on_close() override;
    std::uint64_t frames() const override { return frames_; }

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

    const Options& options_;
    Recorder& rec_;
    std::uint64_t conn_;
    std::uint64_t frames_ = 0;
    std::unordered_map<std::uint32_t, ChannelRecord*> channels_;
    std::map<std::string, Call> calls_;  // by call-guid, while a channel of it is live
    std::string pending_caller_guid_;    // a caller START waits for its callee START
    bool pending_caller_ = false;
};

}  // namespace speech
