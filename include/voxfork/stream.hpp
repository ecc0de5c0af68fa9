// The stream layer: one fork's session with a speech server, in whatever
// protocol its stream-service profile speaks (voxfork-v1 today; AudioHook and
// raw audio follow the same face). The fork part issues the neutral commands
// below and hears the neutral events; each protocol (src/stream/<protocol>/)
// owns its messages, its audio framing, how it pairs channels and what a
// server message means; the WebSocket transport under it (ws.hpp) knows none
// of them.
//
// Threads: everything runs on the control-plane thread, except AudioSink::send,
// which the tee calls from the media packet thread (no lock, no allocation).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxfork/config.hpp"
#include "voxfork/media.hpp"

namespace boost::asio {
class io_context;
}

namespace voxfork::ws {
class Pool;
}

namespace voxfork::stream {

// The G.711 law of a fork's audio.
enum class Codec : std::uint8_t { ulaw, alaw };

// Where a fork streams to (the START request's fields and the profile of its
// dial-peer). Protocols that share connections share them between equal targets.
struct Target {
    std::string host;
    std::uint16_t port = 0;
    bool secure = true;
    std::string path = "/";
    std::string token;  // empty: none
    std::uint32_t profile_tag = 0;
    bool operator==(const Target&) const = default;
};

// What a protocol may tell the speech server about the call.
struct CallInfo {
    std::uint64_t anchor = 0;        // the operator's callid of the call
    std::uint64_t fork_session = 0;  // the data-plane fork session id
    std::string call_guid;
    std::string sip_call_id;  // of the leg the START came on
    nlohmann::json metadata = nlohmann::json::object();  // the START's
    std::string caller_number;  // the user part of the caller's From
    std::string caller_name;    // its display name
    std::string called_number;  // the number the call was made to
};

using SessionHandle = std::uint64_t;  // never 0

// Where the tee writes one fork's audio: one RTP payload of one direction,
// with the frame's seq and position (docs/speech-server-protocol.md). Called from the packet thread
// only. Returns the bytes the frame takes on its way out (0: dropped).
class AudioSink {
public:
    virtual ~AudioSink() = default;
    virtual std::size_t send(media::Direction direction, std::uint32_t seq, std::uint32_t position,
                             std::span<const std::uint8_t> payload) noexcept = 0;
};

// A session that is up: what STARTED reports and where the audio goes.
struct Established {
    std::uint32_t connection_id = 0;
    std::uint32_t channel[2] = {};  // by media::Direction; unique for the process's lifetime
    std::shared_ptr<AudioSink> audio;
};

// What really left for one direction: frames (and their bytes) written
// towards the socket, and frames the send path dropped under back-pressure.
struct Delivery {
    std::uint64_t frames_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t frames_dropped = 0;
};

// What the operator is shown of a session (`show voip stream-service callid`).
struct Description {
    std::string protocol;                    // voxfork-v1, audiohook, raw
    std::vector<std::uint32_t> connections;  // the WebSocket connections it uses
    std::uint64_t server_messages = 0;       // what the server told of the call (AudioHook events, raw text)
    std::string latest_server_message;
};

// How a session that was up came to an end without the fork asking.
struct Ending {
    std::string_view reason;  // docs/controller.md: `Connection closed` or `TCP Connection closed`
    // The server ended this session with a message of its protocol (and not
    // the connection); its words, for the log.
    bool by_server = false;
    std::string_view server_words;
};

// Events back to the fork part, on the control thread, never inside a command.
class Events {
public:
    virtual ~Events() = default;
    // The session is up: audio and commands may flow.
    virtual void on_established(SessionHandle session, const Established& established) = 0;
    // It never came up: a reason string of docs/controller.md. The session is gone.
    virtual void on_failed(SessionHandle session, std::string_view reason) = 0;
    // It was up and ended. The session is gone: no close() is needed.
    virtual void on_ended(SessionHandle session, const Ending& ending) = 0;
    // The server asked for a pause of the audio, or for its end (AudioHook's
    // `pause` / `resume`); the protocol has answered it.
    virtual void on_paused_by_server(SessionHandle session) = 0;
    virtual void on_resumed_by_server(SessionHandle session) = 0;
    // The server confirmed an update() that said it would be answered.
    virtual void on_updated(SessionHandle session) = 0;
    // Continuity (docs/stream.md): the session's connection was lost and is
    // being reconnected (its audio is kept meanwhile); then it is back and
    // re-established, or on_ended() comes with the reason the loss had.
    virtual void on_interrupted(SessionHandle) {}
    virtual void on_restored(SessionHandle) {}
};

// The commands. A handle the service no longer knows is ignored.
class Service {
public:
    virtual ~Service() = default;
    virtual void set_events(Events* events) = 0;
    // Opens a session; its answer (on_established or on_failed) comes later.
    virtual SessionHandle open(const Target& target, const CallInfo& call) = 0;
    // The fork begins: the protocol tells the server.
    virtual void start(SessionHandle session, Codec codec, const nlohmann::json& metadata) = 0;
    // No audio until resume. `reason`: `hold` or `codec-change`.
    virtual void pause(SessionHandle session, std::string_view reason) = 0;
    virtual void resume(SessionHandle session, Codec codec) = 0;
    // True when the server will confirm it (on_updated); false when it is
    // done as far as the protocol goes.
    virtual bool update(SessionHandle session, const nlohmann::json& metadata) = 0;
    virtual void dtmf(SessionHandle session, media::Direction direction, char digit, std::uint16_t duration) = 0;
    // The fork ends (reason as voxfork.v1's STOP: `Forking stopped`, `Call ended`,
    // `Internal error`); audio the sink took before goes out first.
    virtual void stop(SessionHandle session, std::string_view reason) = 0;
    // The fork lets go of the session: no event comes back for it. Audio it
    // still had queued is discarded.
    virtual void close(SessionHandle session) = 0;
    // What left for one direction of a live session; nullopt when the
    // service does not know it.
    virtual std::optional<Delivery> delivered(SessionHandle session, media::Direction direction) const = 0;
    virtual std::optional<Description> describe(SessionHandle session) const = 0;

    // The fork counters of `show voip stream-service statistics`.
    virtual void fork_started() = 0;
    virtual void fork_failed() = 0;
    virtual void fork_ended() = 0;
};

// The service the daemon runs: each session in the protocol of its target's
// profile, over the WebSocket pool (whose observer it becomes).
class Streams : public Service {
public:
    static std::unique_ptr<Streams> create(boost::asio::io_context& io, ws::Pool& pool, config::ConfigPtr config);
    // New sessions follow the new configuration; open ones keep theirs.
    virtual void reload(config::ConfigPtr config) = 0;
};

}  // namespace voxfork::stream
