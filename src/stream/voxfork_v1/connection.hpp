// voxfork.v1's side of one WebSocket connection, shared by up to
// `calls-threshold` calls: the audio ring their tees write into, the state of
// each of their channels (paused, stopped, what was sent), and what a server
// STOP means (docs/speech-server-protocol.md, "What the server may send").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <voxfork/ws.hpp>

#include "../continuity.hpp"
#include "../frame_ring.hpp"
#include "../session.hpp"
#include "messages.hpp"

namespace voxfork::stream::voxfork_v1 {

using Ring = detail::FrameRing<Framing>;
using Clock = std::chrono::steady_clock;

// A STOP the server sent is told to its call once the server has stopped
// every channel of that call on the connection. A lone STOP waits this long
// for its pair, so a server that stops both channels with two writes is not
// answered with a STOP it did not need.
inline constexpr std::chrono::milliseconds server_stop_grace{50};

class Connection final : public ws::Handler {
public:
    // Told when the server ended a call's fork (its STOPs answered already);
    // `words` is the server's reason. The session then takes its call off.
    using ServerEnded = std::function<void(const std::string& words)>;

    // `reconnect_window`: the profile's `connection reconnect window` (0: off).
    Connection(std::size_t ring_bytes, int reconnect_window)
        : ring_(std::make_shared<Ring>(ring_bytes)),
          continuity_(reconnect_window, header_size),
          history_(detail::Continuity::bytes_for(1, header_size)) {}

    const std::shared_ptr<Ring>& ring() const { return ring_; }

    // A call's two channels join (caller, callee) or leave the connection;
    // frames of a channel that left are discarded.
    void add_call(SessionHandle session, const std::uint32_t (&channels)[2], ServerEnded ended);
    void remove_call(SessionHandle session);

    // How a control message changes its channel's audio.
    enum class Gate { keep, open, close, stop };
    // Sends `message` for `channel` after the audio queued before it; nothing
    // goes out for a channel once stopped (by either side).
    void send(std::uint32_t channel, Gate gate, const nlohmann::ordered_json& message);
    Delivery delivery(std::uint32_t channel) const;

    // ws::Handler
    void on_open(ws::Output& out) override;
    std::uint64_t drain(ws::Output& out) override;
    void on_sent(std::uint32_t channel, std::size_t bytes) override;
    void on_dropped(std::uint32_t channel) override;
    void on_text(std::string_view text) override;
    bool on_binary(std::span<const std::uint8_t>) override { return false; }  // voxfork.v1: a protocol error
    void on_tick(Clock::time_point now) override { tell_server_stops(now - server_stop_grace); }
    void on_closed() override;
    // Continuity (docs/speech-server-protocol.md, "Resuming after an outage"): START again with
    // "resumed": true for every channel, then the frames of the last second before the loss and of
    // the outage, each with its own seq and position.
    bool resumable() const override { return continuity_.enabled(); }
    void on_interrupted() override;
    std::uint64_t keep() override;
    // A frame the lost connection never sent is in the last second, replayed
    // anyway; an older one (a queue backed up) is kept ahead of it.
    bool on_unsent(std::uint32_t channel, std::span<const std::uint8_t> frame) override;

private:
    struct Channel {
        std::uint32_t id = 0;
        SessionHandle session = 0;
        bool paused = false;
        bool stopped = false;
        Delivery delivery;
        // With continuity: what re-establishes it (its START as it stands now,
        // "resumed": true) and why it is paused.
        nlohmann::ordered_json start;
        std::string pause_reason;
    };
    struct Call {
        SessionHandle session = 0;
        ServerEnded ended;
    };
    struct HeldStop {
        SessionHandle session = 0;
        std::string reason;
        Clock::time_point read_at;  // each waits its own grace
    };

    // The ring's frames into `out` (nullptr: kept for later), by each channel's gate.
    void move_audio(ws::Output* out);
    void emit(ws::Output* out, std::uint32_t channel, std::span<const std::uint8_t> frame);
    // What a re-established channel needs to hear again.
    void note_for_resume(Channel& ch, const nlohmann::ordered_json& message);
    Channel* channel(std::uint32_t id) noexcept;
    const Channel* channel(std::uint32_t id) const noexcept;
    // Tells the held server STOPs of calls with no channel left running, and
    // those read before `read_before`.
    void tell_server_stops(Clock::time_point read_before);

    std::shared_ptr<Ring> ring_;
    ws::Output* out_ = nullptr;  // set while open
    std::uint64_t refused_ = 0;  // frames the ring refused, not yet reported
    // The channels of the calls (at most 2 x 20), kept in a vector: the send
    // path looks one up per frame, and a short contiguous scan costs less
    // than a hash lookup that misses the cache.
    std::vector<Channel> channels_;
    std::vector<Call> calls_;
    std::vector<HeldStop> held_stops_;  // read, not yet told; oldest first
    detail::Continuity continuity_;
    // With continuity: the frames handed to the link in the last second (the
    // lost connection may have swallowed them).
    detail::OutageBuffer history_;
    bool reestablishing_ = false;  // STARTs going out: audio waits behind them
};

}  // namespace voxfork::stream::voxfork_v1
