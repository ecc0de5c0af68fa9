// raw's side of one WebSocket connection (protocols.md "raw"): bare G.711 in
// 20 ms binary frames on the clock, one direction (layout `separate`) or both
// interleaved (layout `interleaved`); the server's text counted, its binary
// frames ignored. A connection carries one fork.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <voxfork/ws.hpp>

#include "../frame_ring.hpp"
#include "../paced_audio.hpp"

namespace voxfork::stream::raw {

using Ring = detail::FrameRing<detail::PositionedFraming>;
using Clock = std::chrono::steady_clock;

// How long a frame waits after its 20 ms for audio still on its way (jitter,
// the 3 ms drain): frame k goes out at start + (k + 1) x 20 ms + this.
inline constexpr std::chrono::milliseconds playout_delay{60};
inline constexpr std::chrono::seconds keepalive_interval{5};

class Connection final : public ws::Handler {
public:
    struct Settings {
        bool both = false;  // interleaved: caller and callee in each frame
        media::Direction direction = media::Direction::caller;  // the one it carries when not both
        std::string keepalive_message;  // empty: none
    };
    explicit Connection(Settings settings);

    const std::shared_ptr<Ring>& ring() const { return ring_; }

    // The session's commands.
    void start(Clock::time_point now, Codec codec);
    void pause(Clock::time_point now);
    void resume(Clock::time_point now, Codec codec);
    // The audio that has arrived (without waiting out the playout delay),
    // the stop message (if any), then close 1000 once sent.
    void finish(Clock::time_point now, const std::string& stop_message);
    bool open() const { return out_ != nullptr; }
    Delivery delivery(media::Direction direction) const;
    std::uint64_t server_texts() const { return server_texts_; }
    std::uint64_t server_binaries() const { return server_binaries_; }
    const std::string& latest_text() const { return latest_text_; }

    // ws::Handler
    void on_open(ws::Output& out) override { out_ = &out; }
    std::uint64_t drain(ws::Output& out) override;
    void on_sent(std::uint32_t tag, std::size_t bytes) override;
    void on_dropped(std::uint32_t tag) override;
    void on_text(std::string_view text) override;
    bool on_binary(std::span<const std::uint8_t>) override;
    void on_tick(Clock::time_point now) override;
    void on_closed() override;

private:
    void take_ring();
    // Sends every frame due before `until`.
    void send_frames(Clock::time_point until);
    // The directions a frame of this connection holds.
    template <class Fn>
    void each_direction(Fn&& fn);
    Clock::time_point due(std::uint64_t frame) const;
    std::uint64_t frame_at(Clock::time_point t) const;

    Settings settings_;
    std::shared_ptr<Ring> ring_;
    detail::PlayoutBuffer playout_;
    ws::Output* out_ = nullptr;
    bool started_ = false;
    bool paused_ = false;
    bool finished_ = false;
    std::uint8_t silence_ = 0xff;
    Clock::time_point start_{};
    Clock::time_point last_keepalive_{};
    std::uint64_t refused_ = 0;
    Delivery delivery_[2];
    std::uint64_t server_texts_ = 0;
    std::uint64_t server_binaries_ = 0;
    std::string latest_text_;
};

}  // namespace voxfork::stream::raw
