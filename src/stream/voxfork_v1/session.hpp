// One fork in voxfork.v1: a call's two channels on a connection it shares
// with other calls to the same server (up to the profile's calls-threshold).
#pragma once

#include <memory>

#include "../session.hpp"
#include "connection.hpp"

namespace voxfork::stream::voxfork_v1 {

class V1Session final : public detail::Session {
public:
    V1Session(detail::Host& host, SessionHandle handle, const Target& target, const CallInfo& call);
    ~V1Session() override;

    void open() override;
    void start(Codec codec, const nlohmann::json& metadata) override;
    void pause(std::string_view reason) override;
    void resume(Codec codec) override;
    bool update(const nlohmann::json& metadata) override;
    void dtmf(media::Direction direction, char digit, std::uint16_t duration) override;
    void stop(std::string_view reason) override;
    void close() override;
    std::optional<Delivery> delivered(media::Direction direction) const override;
    Description describe() const override { return {"voxfork-v1", {connection_id_}, 0, {}}; }
    void on_connection_lost(ws::UserHandle user, std::string_view reason) override;

private:
    void on_attached(const ws::AttachResult& result);
    void on_server_ended(const std::string& words);
    // Sends one message per channel, caller first.
    template <class Make>
    void send_both(Connection::Gate gate, Make&& make);
    void leave();  // off the connection and the transport
    void keep_delivery();

    detail::Host& host_;
    SessionHandle handle_;
    Target target_;
    CallInfo call_;
    ws::UserHandle user_ = 0;
    Connection* connection_ = nullptr;  // while on an open connection
    std::uint32_t connection_id_ = 0;
    std::uint32_t channel_[2] = {};
    Delivery final_[2];  // what was delivered when it left its connection
};

}  // namespace voxfork::stream::voxfork_v1
