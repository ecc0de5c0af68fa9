// One fork as one AudioHook session on a WebSocket of its own.
#pragma once

#include "../session.hpp"
#include "connection.hpp"

namespace voxfork::stream::audiohook {

class AudiohookSession final : public detail::Session, public SessionEvents {
public:
    AudiohookSession(detail::Host& host, SessionHandle handle, const Target& target, const CallInfo& call);
    ~AudiohookSession() override;

    // detail::Session
    void open() override;
    void start(Codec codec, const nlohmann::json& metadata) override;
    void pause(std::string_view reason) override;
    void resume(Codec codec) override;
    bool update(const nlohmann::json& metadata) override;
    void dtmf(media::Direction, char, std::uint16_t) override {}  // docs/stream.md: the client carries no DTMF
    void stop(std::string_view reason) override;
    void close() override;
    std::optional<Delivery> delivered(media::Direction direction) const override;
    Description describe() const override;
    void on_connection_lost(ws::UserHandle user, std::string_view reason) override;

    // SessionEvents (from the connection)
    void on_opened(const MediaChoice& media) override;
    void on_open_failed(std::string_view reason) override;
    void on_server_pause() override;
    void on_server_resume() override;
    void on_updated() override;
    void on_disconnect(const std::string& words) override;

private:
    void on_attached(const ws::AttachResult& result);
    void leave();  // off the transport; the connection finishes on its own

    detail::Host& host_;
    SessionHandle handle_;
    Target target_;
    CallInfo call_;
    config::StreamServiceProfile profile_;
    std::string session_id_ = random_uuid();
    ws::UserHandle user_ = 0;
    std::uint32_t connection_id_ = 0;
    Connection* connection_ = nullptr;  // while attached
    bool established_ = false;
    Delivery final_[2];
    Description description_{"audiohook", {}, 0, {}};  // kept when the connection is left
};

}  // namespace voxfork::stream::audiohook
