// Audio sent on the clock rather than as packets arrive (AudioHook, raw):
// 20 ms frames, each direction placed by its position (samples since the
// fork's start), silence where a direction sent nothing, and two directions
// interleaved sample by sample (caller first) when one frame carries both.
//
// The packet thread only pushes positioned payloads into a FrameRing
// (PositionedFraming); the io thread drains them into a PlayoutBuffer and
// takes the frames whose time has come.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <voxfork/media.hpp>
#include <voxfork/stream.hpp>

#include "frame_ring.hpp"

namespace voxfork::stream::detail {

inline constexpr std::uint32_t samples_per_frame = 160;  // 20 ms at 8 kHz

// G.711 silence: the code of a zero sample.
constexpr std::uint8_t silence_of(Codec codec) {
    return codec == Codec::alaw ? 0xd5 : 0xff;
}

struct PositionedFraming {
    static constexpr std::size_t max_payload = 480;  // 60 ms of G.711
    static constexpr std::size_t header = 1 + sizeof(std::uint32_t);  // direction, position
    struct Record {
        media::Direction direction = media::Direction::caller;
        std::uint32_t position = 0;
        std::span<const std::uint8_t> payload;
    };
    // 0 (refused) when the payload is over max_payload.
    static std::size_t size(media::Direction, std::uint32_t, std::span<const std::uint8_t> payload) {
        return payload.size() > max_payload ? 0 : header + payload.size();
    }
    static void encode(std::span<std::uint8_t> out, media::Direction direction, std::uint32_t position,
                       std::span<const std::uint8_t> payload) noexcept;
    static Record decode(std::span<const std::uint8_t> record) noexcept;
};

// How far ahead of the next frame to send audio is placed: the playout
// delay, jitter and a payload of 60 ms with room to spare. After the io
// thread stalled, what waits in the ring (up to stall_seconds of it) goes
// through this window in slices, sending as it goes (PacedAudio::send_due),
// so the window need not hold the whole stall: 3.2 KB a direction where 2 s
// took 16 KB.
inline constexpr std::uint32_t playout_window_samples = 3200;  // 400 ms

// The io thread's side: audio by position for the next `window` samples.
// Each lane holds silence wherever no audio came: a frame taken is filled
// with silence again, so placing and taking are plain copies (this runs for
// every frame of every paced connection).
class PlayoutBuffer {
public:
    // `both`: frames carry caller and callee interleaved; else one direction.
    // The window is rounded up to whole frames.
    explicit PlayoutBuffer(bool both, std::uint32_t window_samples = playout_window_samples,
                           std::uint8_t silence = 0xff);

    // Places a payload at its position. Audio for a frame already taken, or
    // beyond the window, is discarded and counted.
    void put(media::Direction direction, std::uint32_t position, std::span<const std::uint8_t> payload);
    // The next frame: 160 bytes (320 interleaved); what nobody sent is
    // silence. Its slots are emptied for the next round of the window.
    std::span<const std::uint8_t> take();
    // Frames before `frame` will never be sent (a pause): drops what they held.
    void skip_to(std::uint64_t frame);
    // What fills the gaps from now on (the codec's silence); a change empties
    // the whole window, so it is made only where nothing is waiting (a start
    // or a resume).
    void set_silence(std::uint8_t silence);

    std::uint64_t next_frame() const { return next_frame_; }
    // The first position past the window: audio ending beyond it does not fit yet.
    std::uint64_t window_end() const { return next_frame_ * samples_per_frame + window_; }
    std::uint32_t window() const { return window_; }
    std::uint64_t discarded() const { return discarded_; }
    std::size_t frame_bytes() const { return both_ ? 2 * samples_per_frame : samples_per_frame; }

private:
    using Lane = std::vector<std::uint8_t>;  // by position modulo the window
    Lane& lane(media::Direction d) { return lanes_[both_ ? static_cast<std::size_t>(d) & 1 : 0]; }
    std::size_t slot_of(std::uint64_t frame) const {
        return static_cast<std::size_t>((frame * samples_per_frame) % window_);
    }

    bool both_;
    std::uint32_t window_;
    std::uint8_t silence_;
    std::array<Lane, 2> lanes_;
    std::uint64_t next_frame_ = 0;
    std::uint64_t discarded_ = 0;
    std::vector<std::uint8_t> frame_;
};

// One connection's clock-paced audio: the ring the tee writes into, the
// playout buffer, the clock, and what was sent per direction.
class PacedAudio {
public:
    using Ring = FrameRing<PositionedFraming>;
    using Clock = std::chrono::steady_clock;
    // How long a frame waits after its 20 ms for audio still on its way
    // (jitter, the 3 ms drain): frame k is due at start + (k + 1) x 20 ms
    // + this (and goes out with the last of its group, send_time()).
    static constexpr std::chrono::milliseconds playout_delay{60};
    static constexpr std::chrono::milliseconds frame_time{20};
    // Frames that leave together in one send (send_time()).
    static constexpr std::uint64_t frames_per_send = 3;

    // `both`: caller and callee interleaved in each frame; else `only`.
    PacedAudio(bool both, media::Direction only);

    const std::shared_ptr<Ring>& ring() const { return ring_; }
    // A-law calls reach the server as µ-law (AudioHook).
    void convert_alaw(bool on) { convert_alaw_ = on; }

    void start(Clock::time_point now, Codec codec);
    void pause() { paused_ = true; }
    // The frames of the pause are never sent: the tee places the first audio
    // after a resume at the time since the start.
    void resume(Clock::time_point now, Codec codec);
    void stop() { stopped_ = true; }
    bool running() const { return started_ && !paused_ && !stopped_; }
    bool paused() const { return started_ && paused_ && !stopped_; }

    // The ring's frames into the playout buffer (dropped unless running) up
    // to the first that does not fit the window yet (send_due places it);
    // returns the frames the ring refused since the last call.
    std::uint64_t take_ring();
    // How far send_due() goes.
    enum class Until {
        groups,  // the frames whose send_time() came: the clock's pace
        due,     // every frame due by now, though its group is not complete (before a pause)
        end,     // and every frame up to the one under way (the end: nothing waits any more)
    };
    // Calls fn(frame) for each frame `until_what` says. While audio waits in
    // the ring for the window to move on (after a stall), the frames before
    // it go out and it is placed, in turns; a frame whose audio may still be
    // behind that waiting audio (within the playout delay of it) waits for it.
    template <class Fn>
    void send_due(Clock::time_point now, Until until_what, Fn&& fn) {
        if (!running()) return;
        const auto until = until_what == Until::end ? now + playout_delay + frame_time : now;
        const auto ready = [&](std::uint64_t frame) {
            return until_what == Until::groups ? now >= send_time(frame) : until >= due(frame);
        };
        for (;;) {
            place_from_ring(until);
            const std::uint64_t limit = waiting_ ? frames_before(waiting_position_) : UINT64_MAX;
            bool sent = false;
            while (playout_.next_frame() < limit && ready(playout_.next_frame())) {
                sent_samples_ += samples_per_frame;
                fn(playout_.take());
                sent = true;
            }
            if (!waiting_ || !sent) return;
        }
    }
    // When the next frame goes out, and at most a group's time from `now`
    // (the protocol's own timers want a look now and then).
    Clock::time_point next_due(Clock::time_point now) const {
        constexpr auto group_time = static_cast<std::int64_t>(frames_per_send) * frame_time;
        return running() ? std::min(send_time(playout_.next_frame()), now + group_time) : now + group_time;
    }
    // Samples of audio sent so far (a pause sends none).
    std::uint64_t position() const { return sent_samples_; }

    void count_sent(std::size_t bytes);
    void count_dropped();
    Delivery delivery(media::Direction direction) const;

private:
    // When a frame's audio is all in (its 20 ms and the playout delay).
    Clock::time_point due(std::uint64_t frame) const;
    // When it is sent: frames go out in groups of frames_per_send, each when
    // the last of its group is due. Each paced connection carries one call or
    // channel, so every send is a system call of its own (and on loopback
    // the receiver's TCP work too): 50,000 a second for 1,000 AudioHook
    // calls at one frame a send. Three frames a send cut that to a third,
    // for up to 40 ms more delay on the first of each group (20 on average);
    // the frames stay 20 ms each. At 400 calls pairs left the paced
    // protocols 17-38 % over voxfork-v1's CPU per packet, threes 5-25 %
    // (docs/performance.md, "Forked calls").
    Clock::time_point send_time(std::uint64_t frame) const {
        return due(frame - frame % frames_per_send + frames_per_send - 1);
    }
    // The frames due by `until`.
    std::uint64_t frames_due(Clock::time_point until) const;
    // The frames that end a playout delay before `position`.
    static std::uint64_t frames_before(std::uint64_t position);
    // Drains the ring into the playout buffer; stops at audio that does not
    // fit the window yet but will once the frames due by `until` are sent
    // (waiting_). Audio further ahead than that (a timestamp jump) is placed
    // as far as it fits. Without `until`, stops at whatever does not fit.
    void place_from_ring(std::optional<Clock::time_point> until);
    template <class Fn>
    void each_direction(Fn&& fn);

    bool both_;
    media::Direction only_;
    std::shared_ptr<Ring> ring_;
    PlayoutBuffer playout_;
    bool convert_alaw_ = false;
    bool started_ = false, paused_ = false, stopped_ = false;
    Codec codec_ = Codec::ulaw;
    Clock::time_point start_{};
    std::uint64_t sent_samples_ = 0;
    bool waiting_ = false;                // audio at waiting_position_ waits in the ring
    std::uint64_t waiting_position_ = 0;
    Delivery delivery_[2];
};

// The tee's sink for paced protocols: each direction into the ring of the
// connection carrying it (the same ring for both when one carries both).
class PositionedSink final : public AudioSink {
public:
    PositionedSink(std::shared_ptr<PacedAudio::Ring> caller, std::shared_ptr<PacedAudio::Ring> callee)
        : ring_{std::move(caller), std::move(callee)} {}
    std::size_t send(media::Direction direction, std::uint32_t, std::uint32_t position,
                     std::span<const std::uint8_t> payload) noexcept override {
        return ring_[static_cast<std::size_t>(direction) & 1]->push(direction, position, payload) ? payload.size() : 0;
    }

private:
    std::shared_ptr<PacedAudio::Ring> ring_[2];
};

}  // namespace voxfork::stream::detail
