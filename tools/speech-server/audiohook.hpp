// Genesys AudioHook v2 (docs/stream.md "AudioHook"), the server side: the
// upgrade's headers and, with --audiohook-secret, its HTTP message signature;
// `open` answered with `opened` (the media --audiohook-media picks), `ping`
// with `pong`, `update` with `updated`, `close` with `closed`; `paused`,
// `resumed`, `dtmf`, `discarded` and `error` taken. Every client message is
// checked: version, session id, seq one more than the last, serverseq never
// ahead of ours, position the audio received so far. Audio is accepted only
// while open and not paused, in whole samples of the chosen channels, and is
// recorded per channel: external as channel 1 (leg caller), internal as
// channel 2 (leg callee).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace speech {

// "" when the upgrade carries a valid signature made with `secret` (base64)
// at `now` (Unix seconds), else what is wrong with it.
std::string audiohook_signature_problem(const Upgrade& upgrade, const std::string& secret, double now);
// Seconds of an ISO 8601 duration as AudioHook writes it ("PT12.34S").
std::optional<double> audiohook_duration(std::string_view text);
// A lower-case UUID of version 1-5 (what AudioHook's ids must be).
bool audiohook_uuid(std::string_view text);

class Audiohook final : public Protocol {
public:
    Audiohook(const Options& options, Recorder& recorder, std::uint64_t conn, Replies& replies)
        : options_(options), rec_(recorder), conn_(conn), replies_(replies) {}

    Verdict judge(const Upgrade& upgrade) override;
    void on_text(std::string_view text) override;
    std::uint32_t on_binary(const std::uint8_t* data, std::size_t size) override;
    // `disconnect` (reason completed): the client is to close the session.
    std::optional<std::string> server_stop(std::uint32_t channel, const std::string& reason) override;
    // `pause` / `resume`: the client answers `paused` / `resumed`; frames
    // still in flight before its `paused` are no violation.
    std::optional<std::string> server_pause(bool resume) override;
    std::vector<std::uint32_t> on_close() override;
    std::uint64_t frames() const override { return frames_; }

private:
    std::string message(const char* type, nlohmann::json parameters = nlohmann::json::object());
    void send(const char* type, nlohmann::json parameters = nlohmann::json::object());
    bool check_envelope(const nlohmann::json& msg);
    void on_open(const nlohmann::json& parameters);
    nlohmann::json choose_media(const nlohmann::json& offers);
    void on_client_close(const nlohmann::json& parameters);
    bool check_durations(const std::string& type, const nlohmann::json& parameters);
    double received_seconds() const;
    void violation(std::string_view kind, const std::string& detail, nlohmann::json extra = nlohmann::json::object());

    const Options& options_;
    Recorder& rec_;
    std::uint64_t conn_;
    Replies& replies_;
    std::string session_id_, organization_id_;
    std::uint64_t client_seq_ = 0, server_seq_ = 0;
    std::optional<double> position_base_;  // the first message's position (a continued session goes on)
    bool opened_ = false, paused_ = false, closing_ = false, disconnected_ = false;
    std::vector<ChannelRecord*> channels_;  // in the chosen media's order
    std::vector<std::uint8_t> samples_;     // one channel's bytes of a frame
    std::uint64_t frames_ = 0;
    std::uint64_t received_samples_ = 0;  // per channel, since `opened`
    bool ended_ = false;
};

}  // namespace speech
