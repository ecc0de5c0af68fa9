// AudioHook's side of one WebSocket connection, which carries one session
// (docs/stream.md "AudioHook"): `open` and the server's `opened`, clock-paced
// PCMU frames of the channels the server chose, the client messages with
// their seq, serverseq and position, ping/pong, pause and resume either way,
// update, close/closed, and what the server may send (disconnect, error,
// event).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <voxfork/ws.hpp>

#include "../continuity.hpp"
#include "../paced_audio.hpp"
#include "messages.hpp"

namespace voxfork::stream::audiohook {

using Clock = std::chrono::steady_clock;
using Ring = detail::PacedAudio::Ring;

inline constexpr std::chrono::seconds open_timeout{5};
inline constexpr std::chrono::seconds ping_interval{5};
inline constexpr std::chrono::seconds pong_timeout{15};
inline constexpr std::chrono::seconds close_timeout{5};
// An `update` the server has not confirmed by then counts as done (servers
// that never send `updated` exist); logged.
inline constexpr std::chrono::seconds updated_timeout{5};

// What the connection tells its session.
class SessionEvents {
public:
    virtual ~SessionEvents() = default;
    virtual void on_opened(const MediaChoice& media) = 0;
    // The session never opened: a reason string the controller gets.
    virtual void on_open_failed(std::string_view reason) = 0;
    virtual void on_server_pause() = 0;
    virtual void on_server_resume() = 0;
    // The server's `updated`, or updated_timeout after an `update` without one.
    virtual void on_updated() = 0;
    // The server asked to end the session (`disconnect`); `close` is sent.
    virtual void on_disconnect(const std::string& words) = 0;
};

struct OpenRequest {
    std::string session_id;
    std::string organization_id;
    std::string conversation_id;
    Participant participant;
    nlohmann::json custom_config = nlohmann::json::object();
    // Continuity (docs/stream.md): the profile's reconnect window, and the
    // upgrade headers of a new session id (for the reconnect attempts).
    int reconnect_window = 0;
    std::function<std::vector<std::pair<std::string, std::string>>(const std::string& session_id)> headers_for;
};

class Connection final : public ws::Handler {
public:
    explicit Connection(OpenRequest open);

    void set_events(SessionEvents* events) { events_ = events; }
    // Where the tee's audio goes (valid once opened).
    const std::shared_ptr<Ring>& ring() const { return audio_->ring(); }

    // The session's commands.
    void start(Clock::time_point now, Codec codec);
    void pause(Clock::time_point now);
    void resume(Clock::time_point now, Codec codec);
    void update(Clock::time_point now, std::string_view language);
    // `close` with `reason`, then the WebSocket once `closed` came (or 5 s).
    void finish(Clock::time_point now, std::string_view reason);
    Delivery delivery(media::Direction direction) const { return audio_ ? audio_->delivery(direction) : Delivery{}; }
    std::uint64_t server_events() const { return server_events_; }
    std::uint64_t server_errors() const { return server_errors_; }
    const std::string& latest_event() const { return latest_event_; }

    // ws::Handler
    void on_open(ws::Output& out) override;
    std::uint64_t drain(ws::Output&) override;
    void on_sent(std::uint32_t, std::size_t bytes) override { audio_->count_sent(bytes); }
    void on_dropped(std::uint32_t) override { audio_->count_dropped(); }
    void on_text(std::string_view text) override;
    bool on_binary(std::span<const std::uint8_t>) override { return false; }  // a server sends no audio
    void on_tick(Clock::time_point now) override;
    Clock::time_point next_service(Clock::time_point now) const override;
    void on_closed() override;
    // Continuity: a new session naming the lost one in `continuedSessions`,
    // `position` going on from it, the outage's audio first.
    bool resumable() const override { return continuity_.enabled() && (phase_ == Phase::open || resuming_); }
    // A resumed session is back at its `opened`, not at the upgrade.
    bool restored_at_open() const override { return false; }
    void on_interrupted() override;
    std::uint64_t keep() override;
    // What the lost connection never delivered goes first in the new session.
    bool on_unsent(std::uint32_t, std::span<const std::uint8_t> frame) override;
    // About a second of the connection's frames.
    std::size_t unacknowledged_kept() const override {
        return continuity_.enabled() ? detail::Continuity::bytes_for(1, 32) * 2 : 0;
    }
    void prepare_reconnect(std::vector<std::pair<std::string, std::string>>& headers) override;

private:
    enum class Phase { connecting, opening, open, closing, closed };
    // Outage-buffer streams: the audio, and the client messages made meanwhile.
    static constexpr std::uint32_t audio_stream = 0, message_stream = 1;
    void send(std::string_view type, nlohmann::ordered_json parameters = nlohmann::ordered_json::object());
    void send(std::string_view type, nlohmann::ordered_json parameters, std::uint64_t position);
    // A message that belongs between the audio (`paused`, `resumed`,
    // `update`): sent now, or, while the session is lost, reopening, closing
    // for the server's reconnect, or kept audio waits, kept in its place and
    // sent after the audio before it, with the position it was made at.
    void send_in_order(std::string_view type, nlohmann::ordered_json parameters = nlohmann::ordered_json::object());
    bool keeps_messages() const { return resuming_ || server_reconnect_ || continuity_.holding(); }
    // Replays one kept message; true when it was audio.
    bool replay_kept(std::uint32_t stream, std::span<const std::uint8_t> kept);
    void on_opened(const ServerMessage& m);
    void fail_open(std::string_view why, std::string_view log);
    using Until = detail::PacedAudio::Until;
    void send_frames(Clock::time_point now, Until until);
    void stop_audio(Clock::time_point now);
    void server_pause(Clock::time_point now);
    void server_resume(Clock::time_point now);

    OpenRequest open_;
    SessionEvents* events_ = nullptr;
    ws::Output* out_ = nullptr;
    Phase phase_ = Phase::connecting;
    // Made at `opened`, for the channels the server chose.
    std::unique_ptr<detail::PacedAudio> audio_;
    bool sends_audio_ = false;  // the server chose a channel
    bool fork_paused_ = false, server_paused_ = false;
    Codec codec_ = Codec::ulaw;
    std::uint64_t seq_ = 0, serverseq_ = 0;
    std::uint64_t paused_at_position_ = 0;
    Clock::time_point paused_since_{};
    Clock::time_point deadline_{};  // for `opened` or `closed`
    Clock::time_point last_ping_{}, last_pong_{};
    std::deque<Clock::time_point> updates_due_;  // `update`s awaiting `updated`, oldest first
    std::uint64_t server_events_ = 0, server_errors_ = 0;
    std::string latest_event_;

    detail::Continuity continuity_;
    bool resuming_ = false;  // a new session after a loss, until its `opened`
    bool server_reconnect_ = false;  // the server asked for `reconnect`: `close` sent, `closed` awaited
    struct Lost {
        std::string id;
        std::uint64_t serverseq = 0, clientseq = 0, position = 0;
    };
    std::optional<Lost> lost_;  // the session a reconnect continues
    std::uint64_t discarded_frames_ = 0;  // dropped from the outage buffer, not yet reported
};

}  // namespace voxfork::stream::audiohook
