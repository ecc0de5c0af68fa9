// raw's side of one WebSocket connection (docs/stream.md "raw"): bare G.711 in
// 20 ms binary frames on the clock, one direction (layout `separate`) or both
// interleaved (layout `interleaved`); the server's text counted, its binary
// frames ignored. A connection carries one fork.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <voxfork/ws.hpp>

#include "../continuity.hpp"
#include "../paced_audio.hpp"

namespace voxfork::stream::raw {

using Clock = std::chrono::steady_clock;
using Ring = detail::PacedAudio::Ring;

inline constexpr std::chrono::seconds keepalive_interval{5};

class Connection final : public ws::Handler {
public:
    struct Settings {
        bool both = false;  // interleaved: caller and callee in each frame
        media::Direction direction = media::Direction::caller;  // the one it carries when not both
        std::string keepalive_message;                          // empty: none
        int reconnect_window = 0;  // the profile's `connection reconnect window`
    };
    explicit Connection(Settings settings);

    const std::shared_ptr<Ring>& ring() const { return audio_.ring(); }

    // The session's commands.
    void start(Clock::time_point now, Codec codec) { audio_.start(now, codec); }
    void pause(Clock::time_point now);
    void resume(Clock::time_point now, Codec codec) { audio_.resume(now, codec); }
    // The audio that has arrived (without waiting out the playout delay),
    // the stop message (if any), then close 1000 once sent.
    void finish(Clock::time_point now, const std::string& stop_message);
    Delivery delivery(media::Direction direction) const { return audio_.delivery(direction); }
    std::uint64_t server_texts() const { return server_texts_; }
    std::uint64_t server_binaries() const { return server_binaries_; }
    const std::string& latest_text() const { return latest_text_; }
    Clock::time_point latest_text_at() const { return latest_text_at_; }

    // ws::Handler
    void on_open(ws::Output& out) override;
    std::uint64_t drain(ws::Output&) override { return audio_.take_ring() + continuity_.take_dropped(); }
    void on_sent(std::uint32_t, std::size_t bytes) override { audio_.count_sent(bytes); }
    void on_dropped(std::uint32_t) override { audio_.count_dropped(); }
    void on_text(std::string_view text) override;
    bool on_binary(std::span<const std::uint8_t>) override;
    void on_tick(Clock::time_point now) override;
    Clock::time_point next_service(Clock::time_point now) const override;
    void on_closed() override;
    // Continuity (docs/stream.md): the same URL again, the audio of the outage
    // first, then live audio.
    bool resumable() const override { return continuity_.enabled(); }
    void on_interrupted() override;
    std::uint64_t keep() override;
    // What the lost connection never delivered (unacknowledged, still queued)
    // is replayed first: a raw service cannot tell a repeat, so nothing it
    // may have had is sent again.
    bool on_unsent(std::uint32_t, std::span<const std::uint8_t> frame) override;
    // About a second of the connection's frames.
    std::size_t unacknowledged_kept() const override {
        return continuity_.enabled() ? detail::Continuity::bytes_for(1, 32) * (settings_.both ? 2 : 1) : 0;
    }

private:
    using Until = detail::PacedAudio::Until;
    void send_frames(Clock::time_point now, Until until);

    Settings settings_;
    detail::PacedAudio audio_;
    detail::Continuity continuity_;
    ws::Output* out_ = nullptr;
    bool finished_ = false;
    Clock::time_point last_keepalive_{};
    std::uint64_t server_texts_ = 0;
    std::uint64_t server_binaries_ = 0;
    std::string latest_text_;
    Clock::time_point latest_text_at_{};  // when it came: the session shows its channels' newest
};

}  // namespace voxfork::stream::raw
