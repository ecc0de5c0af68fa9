// What every protocol's session is to the service, and what the service
// offers them. One Session per fork; the service routes the neutral commands
// of stream.hpp to it and hands its reports on to the fork part.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <voxfork/config.hpp>
#include <voxfork/stream.hpp>
#include <voxfork/ws.hpp>

namespace voxfork::stream::detail {

// The service, as a session sees it.
class Host {
public:
    virtual ~Host() = default;
    virtual ws::Pool& pool() = 0;
    virtual const config::Config& config() const = 0;
    // A channel id unique for the process's lifetime, never 0.
    virtual std::uint32_t next_channel() = 0;
    // Runs `fn` on the io thread after the current event (a session may not
    // report from inside a command).
    virtual void post(std::function<void()> fn) = 0;
    // Connection-loss events of `user` go to `session` from now on.
    virtual void route(ws::UserHandle user, SessionHandle session) = 0;
    virtual void unroute(ws::UserHandle user) = 0;
    // Reports. After failed() or ended() the session is gone: the service
    // destroys it once the current event is over.
    virtual void established(SessionHandle session, const Established& established) = 0;
    virtual void failed(SessionHandle session, std::string_view reason) = 0;
    virtual void ended(SessionHandle session, const Ending& ending) = 0;
    virtual void paused_by_server(SessionHandle session) = 0;
    virtual void resumed_by_server(SessionHandle session) = 0;
    virtual void updated(SessionHandle session) = 0;
};

class Session {
public:
    virtual ~Session() = default;
    virtual void open() = 0;
    virtual void start(Codec codec, const nlohmann::json& metadata) = 0;
    virtual void pause(std::string_view reason) = 0;
    virtual void resume(Codec codec) = 0;
    virtual bool update(const nlohmann::json& metadata) = 0;  // true: on_updated follows
    virtual void dtmf(media::Direction direction, char digit, std::uint16_t duration) = 0;
    virtual void stop(std::string_view reason) = 0;
    // Silently: leave the transport, report nothing more.
    virtual void close() = 0;
    virtual std::optional<Delivery> delivered(media::Direction direction) const = 0;
    virtual Description describe() const = 0;
    // The transport lost the connection of `user`.
    virtual void on_connection_lost(ws::UserHandle user, std::string_view reason) = 0;
};

// The transport key of a session's target: server, path, profile and the
// protocol's name (its frames are counted under it); the protocol adds its subprotocol, headers and token.
ws::ConnectionKey key_for(const Target& target, config::StreamProtocol protocol);

// The text of a JSON message, keys in the order it was built in (the
// protocol's documented order). Never throws: bad UTF-8 is replaced.
std::string message_text(const nlohmann::ordered_json& message);

}  // namespace voxfork::stream::detail
