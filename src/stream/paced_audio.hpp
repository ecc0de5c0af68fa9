// Audio sent on the clock rather than as packets arrive (AudioHook, raw):
// 20 ms frames, each direction placed by its position (samples since the
// fork's start), silence where a direction sent nothing, and two directions
// interleaved sample by sample (caller first) when one frame carries both.
//
// The packet thread only pushes positioned payloads into a FrameRing
// (PositionedFraming); the io thread drains them into a PlayoutBuffer and
// takes the frames whose time has come.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <voxfork/media.hpp>
#include <voxfork/stream.hpp>

namespace voxfork::stream::detail {

inline constexpr std::uint32_t samples_per_frame = 160;  // 20 ms at 8 kHz

// G.711 silence: the code of a zero sample.
constexpr std::uint8_t silence_of(Codec codec) {
    return codec == Codec::alaw ? 0xd5 : 0xff;
}

struct PositionedFraming {
    static constexpr std::size_t max_payload = 480;  // 60 ms of G.711
    struct Slot {
        media::Direction direction = media::Direction::caller;
        std::uint32_t position = 0;
        std::uint16_t size = 0;
        std::array<std::uint8_t, max_payload> bytes{};
    };
    static bool encode(Slot& slot, media::Direction direction, std::uint32_t position,
                       std::span<const std::uint8_t> payload) noexcept;
};

// The io thread's side: audio by position for the next `window` samples.
class PlayoutBuffer {
public:
    // `both`: frames carry caller and callee interleaved; else one direction.
    PlayoutBuffer(bool both, std::uint32_t window_samples = 16000);

    // Places a payload at its position. Audio for a frame already taken, or
    // beyond the window, is discarded and counted.
    void put(media::Direction direction, std::uint32_t position, std::span<const std::uint8_t> payload);
    // The next frame: 160 bytes (320 interleaved); what nobody sent is
    // `silence`. Its slots are emptied for the next round of the window.
    std::span<const std::uint8_t> take(std::uint8_t silence);
    // Frames before `frame` will never be sent (a pause): drops what they held.
    void skip_to(std::uint64_t frame);

    std::uint64_t next_frame() const { return next_frame_; }
    std::uint64_t discarded() const { return discarded_; }
    std::size_t frame_bytes() const { return both_ ? 2 * samples_per_frame : samples_per_frame; }

private:
    struct Lane {
        std::vector<std::uint8_t> bytes;  // by position modulo the window
        std::vector<bool> present;
    };
    Lane& lane(media::Direction d) { return lanes_[both_ ? static_cast<std::size_t>(d) & 1 : 0]; }

    bool both_;
    std::uint32_t window_;
    std::array<Lane, 2> lanes_;
    std::uint64_t next_frame_ = 0;
    std::uint64_t discarded_ = 0;
    std::vector<std::uint8_t> frame_;
};

}  // namespace voxfork::stream::detail
