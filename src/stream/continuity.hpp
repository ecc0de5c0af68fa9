// Continuity (docs/stream.md): what a protocol's connection handler keeps of
// its audio while the pool reconnects a lost connection, and how it goes out
// again. One implementation for every protocol: a handler hands each binary
// message to Continuity::send() instead of the Output; while the connection
// is lost, or while kept audio waits to be replayed, the message is kept in a
// bounded per-stream buffer (oldest dropped, counted), and replay() sends the
// kept messages in the order they were made, before any later audio.
//
// io thread only; nothing here is on the packet path. The outage buffer is
// allocated when the connection is lost and freed once replayed; it is sized
// for the whole reconnect window but mapped memory, resident only as far as
// the outage's audio filled it (a 2 s outage of a call takes ~40 KB, not the
// half megabyte of a 30 s window).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <span>
#include <vector>

#include <voxfork/ws.hpp>

#include "mapped_bytes.hpp"

namespace voxfork::stream::detail {

// Binary messages of several streams (tags), each stream a bounded byte FIFO;
// when a stream is full its oldest messages go.
class OutageBuffer {
    struct Header {
        std::uint64_t order;
        std::uint32_t size;
    };
    static constexpr std::size_t record_header = sizeof(Header);

public:
    explicit OutageBuffer(std::size_t bytes_per_stream) : capacity_(bytes_per_stream) {}

    // The bytes a stream needs to hold `count` messages of `size` bytes
    // (each record carries a header of its own).
    static constexpr std::size_t bytes_for_messages(std::size_t count, std::size_t size) {
        return count * (record_header + size);
    }

    // Returns the messages of `tag` dropped to make room (0 when it fit).
    std::uint64_t keep(std::uint32_t tag, std::span<const std::uint8_t> message) {
        const std::size_t need = record_header + message.size();
        if (need > capacity_) return 1;
        Stream& s = stream(tag);
        if (!s.bytes) s.bytes = std::make_unique<MappedBytes>(capacity_);
        std::uint64_t dropped = 0;
        while (capacity_ - s.used < need) {
            pop(s);
            ++dropped;
        }
        Header h{order_++, static_cast<std::uint32_t>(message.size())};
        write(s, s.head + s.used, &h, sizeof h);
        write(s, s.head + s.used + sizeof h, message.data(), message.size());
        s.used += need;
        ++s.count;
        ++count_;
        return dropped;
    }

    bool empty() const { return count_ == 0; }

    // The oldest message of `tag` (empty when none); valid until the next change.
    std::span<const std::uint8_t> front(std::uint32_t tag) {
        for (Stream& s : streams_) {
            if (s.tag != tag || s.count == 0) continue;
            Header h{};
            read(s, s.head, &h, sizeof h);
            scratch_.resize(h.size);
            read(s, s.head + sizeof h, scratch_.data(), h.size);
            return scratch_;
        }
        return {};
    }
    std::uint64_t size() const { return count_; }

    // Calls send(tag, message) for up to `max` messages, oldest first across
    // streams; returns how many.
    template <class Send>
    std::uint64_t replay(std::uint64_t max, Send&& send) {
        std::uint64_t n = 0;
        std::vector<std::uint8_t>& scratch = scratch_;
        for (; n < max && count_ > 0; ++n) {
            Stream* oldest = nullptr;
            Header oldest_header{};
            for (Stream& s : streams_) {
                if (s.count == 0) continue;
                Header h{};
                read(s, s.head, &h, sizeof h);
                if (oldest == nullptr || h.order < oldest_header.order) {
                    oldest = &s;
                    oldest_header = h;
                }
            }
            scratch.resize(oldest_header.size);
            read(*oldest, oldest->head + sizeof(Header), scratch.data(), scratch.size());
            const std::uint32_t tag = oldest->tag;
            pop(*oldest);
            send(tag, std::span<const std::uint8_t>(scratch));
        }
        return n;
    }

    // A stream that ended: its messages and memory go.
    void forget(std::uint32_t tag) {
        for (auto it = streams_.begin(); it != streams_.end(); ++it) {
            if (it->tag != tag) continue;
            count_ -= it->count;
            streams_.erase(it);
            return;
        }
    }

    // Frees the memory.
    void clear() {
        std::vector<Stream>().swap(streams_);
        std::vector<std::uint8_t>().swap(scratch_);
        count_ = 0;
    }

private:
    struct Stream {
        std::uint32_t tag = 0;
        std::unique_ptr<MappedBytes> bytes;  // a ring of records: header, message; resident as far as written
        std::size_t head = 0, used = 0;
        std::uint64_t count = 0;
    };

    Stream& stream(std::uint32_t tag) {
        for (Stream& s : streams_)
            if (s.tag == tag) return s;
        streams_.push_back(Stream{tag, nullptr, 0, 0, 0});
        return streams_.back();
    }
    void pop(Stream& s) {
        Header h{};
        read(s, s.head, &h, sizeof h);
        const std::size_t size = record_header + h.size;
        s.head = (s.head + size) % capacity_;
        s.used -= size;
        --s.count;
        --count_;
    }
    void write(Stream& s, std::size_t at, const void* data, std::size_t n) {
        at %= capacity_;
        const std::size_t first = std::min(n, capacity_ - at);
        std::memcpy(s.bytes->data() + at, data, first);
        std::memcpy(s.bytes->data(), static_cast<const std::uint8_t*>(data) + first, n - first);
    }
    void read(const Stream& s, std::size_t at, void* data, std::size_t n) const {
        at %= capacity_;
        const std::size_t first = std::min(n, capacity_ - at);
        std::memcpy(data, s.bytes->data() + at, first);
        std::memcpy(static_cast<std::uint8_t*>(data) + first, s.bytes->data(), n - first);
    }

    std::size_t capacity_;
    std::vector<Stream> streams_;
    std::vector<std::uint8_t> scratch_;
    std::uint64_t order_ = 0;
    std::uint64_t count_ = 0;
};

// A handler's way out for its binary messages, with continuity.
class Continuity {
public:
    // docs/stream.md: at most SECONDS x 8 kB of audio per channel: the bytes
    // of a stream that holds SECONDS of 20 ms messages of `channels` channels
    // (raw interleaved, AudioHook stereo: two), each with the `overhead` it
    // adds to its audio (voxfork-v1's header) and the buffer's own record
    // header. Counting the record header matters: without it "1 s" held 0.9 s.
    static constexpr std::size_t frames_per_second = 50;
    static constexpr std::size_t frame_bytes = 160;  // 20 ms of G.711
    static constexpr std::size_t bytes_for(int seconds, std::size_t overhead, std::size_t channels = 1) {
        return OutageBuffer::bytes_for_messages(static_cast<std::size_t>(seconds) * frames_per_second,
                                                channels * frame_bytes + overhead);
    }
    // Kept messages sent per drain (3 ms): 100 x 20 ms of audio, well ahead
    // of the live rate, and never more than the connection has room for
    // (Output::room(): half its send queue), so neither the replay nor the
    // live audio after it pushes queued audio out.
    static constexpr std::uint64_t replay_per_drain = 100;

    // `window_seconds` 0: off (a lost connection is not resumed), send() goes
    // straight out. `channels`: how many a message carries (raw interleaved:
    // two). `min_buffer_seconds`: a buffer even when off, for a reconnect the
    // server asks for (AudioHook).
    Continuity(int window_seconds, std::size_t overhead, std::size_t channels = 1, int min_buffer_seconds = 0)
        : window_seconds_(window_seconds),
          outage_(bytes_for(std::max(window_seconds, min_buffer_seconds), overhead, channels)) {}

    bool enabled() const { return window_seconds_ > 0; }
    bool holding() const { return lost_ || !outage_.empty(); }

    // Straight to `out` while connected with nothing kept, else kept.
    void send(ws::Output* out, std::uint32_t tag, std::span<const std::uint8_t> message) {
        if (out != nullptr && !holding()) return out->send_binary(tag, message);
        dropped_ += outage_.keep(tag, message);
    }
    // Kept without trying the output (audio the connection may have swallowed).
    void keep(std::uint32_t tag, std::span<const std::uint8_t> message) { dropped_ += outage_.keep(tag, message); }
    // A control message kept in its place between the audio (its own stream
    // `tag`, never audio: not counted as dropped audio if it could not be kept).
    void keep_control(std::uint32_t tag, std::span<const std::uint8_t> message) { outage_.keep(tag, message); }

    void forget(std::uint32_t tag) { outage_.forget(tag); }
    void clear() {
        outage_.clear();
        lost_ = false;
    }
    void lost() { lost_ = true; }
    void reconnected() { lost_ = false; }

    // Sends kept messages, oldest first, up to replay_per_drain; frees the
    // buffer once all went.
    void replay(ws::Output& out) {
        replay(out, [&](std::uint32_t tag, std::span<const std::uint8_t> m) {
            out.send_binary(tag, m);
            return true;
        });
    }
    // The same, each kept message handed to send(tag, message), which says
    // whether it was audio (counted in `Audio frames replayed`) or a control
    // message the handler kept in its place between the audio.
    template <class Send>
    void replay(ws::Output& out, Send&& send) {
        replay_up_to(out, std::min<std::uint64_t>(replay_per_drain, out.room()), send);
    }
    // Everything kept, at once (the stream ends).
    template <class Send>
    void replay_all(ws::Output& out, Send&& send) {
        replay_up_to(out, UINT64_MAX, send);
    }
    void replay_all(ws::Output& out) {
        replay_all(out, [&](std::uint32_t tag, std::span<const std::uint8_t> m) {
            out.send_binary(tag, m);
            return true;
        });
    }
    // Messages dropped from the buffer since the last call.
    std::uint64_t take_dropped() { return std::exchange(dropped_, 0); }

private:
    template <class Send>
    void replay_up_to(ws::Output& out, std::uint64_t max, Send& send) {
        if (lost_ || outage_.empty()) return;
        std::uint64_t frames = 0;
        outage_.replay(max, [&](std::uint32_t tag, std::span<const std::uint8_t> m) { frames += send(tag, m) ? 1 : 0; });
        out.replayed(frames);
        if (outage_.empty()) outage_.clear();
    }

    int window_seconds_;
    bool lost_ = false;
    OutageBuffer outage_;
    std::uint64_t dropped_ = 0;
};

}  // namespace voxfork::stream::detail
