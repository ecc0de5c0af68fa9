// Positions follow docs/speech-server-protocol.md: a new base from the receive clock after START,
// RESUME or an SSRC change; RTP timestamp deltas after that.
#include "tee.hpp"

namespace voxfork::fork {
namespace {

constexpr std::uint32_t paused_bit = 1;
constexpr std::int64_t ns_per_sample = 125'000;  // 8 kHz

// Every tee runs on the one packet thread, the only writer of these counters
// (the control thread only reads them), so a relaxed load and store will do:
// no locked read-modify-write, four of which per packet were measurable.
void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

void add(ChannelCounters& c, std::size_t bytes) noexcept {
    if (bytes != 0) {
        bump(c.frames, 1);
        bump(c.bytes, bytes);
    } else {
        bump(c.dropped, 1);
    }
}

}  // namespace

char dtmf_digit(std::uint8_t event) noexcept {
    static constexpr char digits[] = "0123456789*#ABCD";
    return event < 16 ? digits[event] : 0;
}

Tee::Tee(const Setup& setup, DataplaneCounters* totals)
    : sink_(setup.sink),
      start_ns_(setup.start_ns),
      totals_(totals),
      gate_(setup.paused ? paused_bit : 0),
      dtmf_queued_(setup.dtmf_queued) {
    for (std::size_t i = 0; i < 2; ++i) {
        channel_[i].audio_pt.store(setup.audio_pt[i], std::memory_order_relaxed);
        channel_[i].dtmf_pt.store(setup.dtmf_pt[i], std::memory_order_relaxed);
    }
}

void Tee::pause() noexcept {
    gate_.fetch_or(paused_bit, std::memory_order_release);
}

void Tee::resume() noexcept {
    // Only the control thread writes the gate, so load-then-store is safe.
    const auto epoch = gate_.load(std::memory_order_relaxed) >> 1;
    gate_.store((epoch + 1) << 1, std::memory_order_release);
}

void Tee::set_dtmf_pt(media::Direction d, int pt) noexcept {
    channel_[index(d)].dtmf_pt.store(pt, std::memory_order_relaxed);
}

void Tee::on_rtp(media::Direction direction, const media::RtpPacket& packet) noexcept {
    const auto dir = index(direction);
    if (dir > 1) return;
    Channel& ch = channel_[dir];
    const auto gate = gate_.load(std::memory_order_acquire);
    const int pt = packet.payload_type;
    if (pt == ch.dtmf_pt.load(std::memory_order_relaxed)) {
        telephone_event(ch, dir, packet, (gate & paused_bit) != 0);
    } else if (pt == ch.audio_pt.load(std::memory_order_relaxed) && pt != comfort_noise_pt) {
        audio(ch, dir, packet, gate);
    }
    // Comfort noise and any other payload type are not audio for the fork.
}

void Tee::audio(Channel& ch, std::size_t dir, const media::RtpPacket& p, std::uint32_t gate) noexcept {
    if (gate & paused_bit) return;  // position keeps counting real time: the rebase after RESUME shows the gap
    const std::uint32_t epoch = gate >> 1;
    if (!ch.based || ch.ssrc != p.ssrc || ch.epoch != epoch) {
        const std::int64_t elapsed = p.arrival_ns > start_ns_ ? p.arrival_ns - start_ns_ : 0;
        ch.base_position = static_cast<std::uint32_t>(elapsed / ns_per_sample);
        ch.base_timestamp = p.timestamp;
        ch.ssrc = p.ssrc;
        ch.epoch = epoch;
        ch.based = true;
    }
    // Unsigned arithmetic is the modulo 2^32 of voxfork.v1's position.
    const std::uint32_t position = ch.base_position + (p.timestamp - ch.base_timestamp);
    const std::size_t bytes =
        sink_ != nullptr ? sink_->send(static_cast<media::Direction>(dir), ch.seq, position, p.payload) : 0;
    ++ch.seq;  // counts dropped frames too: the server tells a drop from a pause by it
    add(ch.counters, bytes);
    if (totals_ != nullptr) add(totals_->direction[dir], bytes);
}

void Tee::telephone_event(Channel& ch, std::size_t dir, const media::RtpPacket& p, bool paused) noexcept {
    if (p.payload.size() < 4) return;
    const bool end = (p.payload[1] & 0x80) != 0;
    if (!end) return;
    // One event is one RTP timestamp; its end packet is sent up to three times.
    if (ch.event_seen && ch.event_ssrc == p.ssrc && ch.event_timestamp == p.timestamp) return;
    ch.event_seen = true;
    ch.event_ssrc = p.ssrc;
    ch.event_timestamp = p.timestamp;
    const char digit = dtmf_digit(p.payload[0]);
    if (digit == 0 || paused) return;
    DtmfEvent e;
    e.direction = static_cast<media::Direction>(dir);
    e.digit = digit;
    e.duration = static_cast<std::uint16_t>((p.payload[2] << 8) | p.payload[3]);
    if (!dtmf_.push(e))
        dtmf_lost_.fetch_add(1, std::memory_order_relaxed);
    else if (dtmf_queued_ != nullptr)
        dtmf_queued_->fetch_add(1, std::memory_order_release);
}

}  // namespace voxfork::fork
