// One fork in raw (docs/stream.md "raw"): one WebSocket per channel (layout
// `separate`, `channel=caller` / `channel=callee` in the query) or one for
// the call (layout `interleaved`), none shared with another fork.
#pragma once

#include <vector>

#include "../session.hpp"
#include "connection.hpp"

namespace voxfork::stream::raw {

class RawSession final : public detail::Session {
public:
    RawSession(detail::Host& host, SessionHandle handle, const Target& target, const CallInfo& call);
    ~RawSession() override;

    void open() override;
    void start(Codec codec, const nlohmann::json& metadata) override;
    void pause(std::string_view reason) override;
    void resume(Codec codec) override;
    bool update(const nlohmann::json&) override { return false; }  // docs/stream.md: nothing sent
    void dtmf(media::Direction, char, std::uint16_t) override {}          // docs/stream.md: not sent
    void stop(std::string_view reason) override;
    void close() override;
    std::optional<Delivery> delivered(media::Direction direction) const override;
    Description describe() const override;
    void on_connection_lost(ws::UserHandle user, std::string_view reason) override;

private:
    struct Link {
        ws::UserHandle user = 0;
        Connection* connection = nullptr;  // while up
        std::uint32_t connection_id = 0;
    };
    void on_attached(std::size_t index, const ws::AttachResult& result);
    // Every link off the transport; the connections that are up are closed
    // (1000), after the stop message when `stop_message` is set.
    void leave(const std::string& stop_message);
    const Link& link_of(media::Direction direction) const;

    detail::Host& host_;
    SessionHandle handle_;
    Target target_;
    CallInfo call_;
    config::StreamServiceProfile profile_;
    std::vector<Link> links_;  // interleaved: one; separate: caller, callee
    bool established_ = false;
    Delivery final_[2];
    Description description_{"raw", {}, 0, {}};  // kept up to date when a connection is left
};

}  // namespace voxfork::stream::raw
