// The lock-free hand-off of a fork's audio from the media packet thread to
// the io thread: single producer, single consumer, no lock and no
// allocation. Each protocol supplies its Framing at compile time: how large
// one RTP payload's record is, how it is written into the ring (voxfork-v1
// writes its 12-byte header there, so the io thread only copies finished
// frames out) and how the io thread reads it back.
//
// Records are stored back to back in a ring of bytes, each behind its
// length, so a 20 ms G.711 frame takes its own size and not the largest
// payload's (a ring of fixed slots sized for 60 ms frames held three times
// the audio it carried). A record never wraps: when it does not fit before
// the end of the buffer, the producer marks the rest as skipped and starts
// again at the front.
//
// A full ring refuses the new frame (the producer may not touch the
// consumer's end) and counts it; the io thread drains it every few
// milliseconds, so it fills only when the io thread stalls.
//
// A ring of 16 KiB or more (a second or two of a call's audio) is two: a
// first ring of a few pages, kept whole, that the records go through while
// the io thread keeps up, and a spill ring sized for a stall, which takes
// the records once the first is full and until the consumer has read all it
// took. The spill ring is mapped memory whose pages the consumer gives back
// once it has read them: what is resident is the first ring plus what
// waits, not the 2 s a stall may need. (One ring that gave back each page
// as it was read cost the io thread a TLB flush on the other core, and the
// packet thread a page fault, about twice a second per paced channel.) The
// consumer tells the producer of the room it made in whole pages, and only
// after giving them back (the producer never writes a page being released);
// the spill ring is larger by what that holds back.
//
//   struct Framing {
//       struct Record { ... };                         // what drain() hands over
//       static std::size_t size(const Args&...);        // record bytes; 0 = refuse
//       static void encode(std::span<std::uint8_t> out, const Args&...) noexcept;
//       static Record decode(std::span<const std::uint8_t> record) noexcept;
//   };
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "mapped_bytes.hpp"

namespace voxfork::stream::detail {

// How far the io thread may fall behind the packet thread before a fork's
// audio is dropped (and counted): what its ring, and a clock-paced
// connection's playout window, hold. A control plane 500 ms late already
// refuses new calls (include/voxfork/overload.hpp).
inline constexpr std::size_t stall_seconds = 2;

// The ring bytes that hold `seconds` of `channels` G.711 channels sent as
// 20 ms packets (50 a second of 160 bytes), each record `overhead` bytes more
// than its payload. Other packet times take about as many bytes a second.
constexpr std::size_t ring_bytes_for(std::size_t seconds, std::size_t channels, std::size_t overhead) {
    return seconds * channels * 50 * (sizeof(std::uint16_t) + overhead + 160);
}

// One single-producer single-consumer ring of records (FrameRing is one or
// two of them).
template <class Framing>
class RecordRing {
public:
    using Record = typename Framing::Record;
    using Length = std::uint16_t;
    static constexpr std::size_t length_bytes = sizeof(Length);
    static constexpr Length skip_marker = 0xffff;  // the rest of the buffer holds no record
    static constexpr std::size_t max_length = skip_marker - 1;

    // `release_bytes`: 0 keeps the ring whole; else pages go back once read,
    // that many bytes at a time at least (and the ring maps that much more).
    RecordRing(std::size_t capacity_bytes, std::size_t release_bytes)
        : release_bytes_(release_bytes),
          bytes_(release_bytes_ ? MappedBytes::round_to_pages(capacity_bytes + release_bytes_ + MappedBytes::page_size())
                                : capacity_bytes) {}

    // Producer: a record of `size` bytes (Framing::size(args...)); false when full.
    template <class... Args>
    bool push(std::size_t size, const Args&... args) noexcept {
        const std::size_t needed = length_bytes + size;
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        const std::size_t at = static_cast<std::size_t>(tail % bytes_.size());
        const std::size_t to_end = bytes_.size() - at;
        const std::size_t skipped = to_end < needed ? to_end : 0;  // the record starts at the front
        if (tail + skipped + needed - head_.load(std::memory_order_acquire) > bytes_.size()) return false;
        if (skipped >= length_bytes) put_length(at, skip_marker);
        const std::size_t start = skipped ? 0 : at;
        put_length(start, static_cast<std::uint16_t>(size));
        Framing::encode(std::span<std::uint8_t>(bytes_.data() + start + length_bytes, size), args...);
        tail_.store(tail + skipped + needed, std::memory_order_release);
        return true;
    }
    // Producer: the consumer has taken every record pushed.
    bool all_taken() const noexcept {
        return taken_.load(std::memory_order_acquire) == tail_.load(std::memory_order_relaxed);
    }

    // Consumer.
    std::uint64_t tail() const noexcept { return tail_.load(std::memory_order_acquire); }
    bool has_data() const noexcept { return read_ != tail(); }
    bool has_data_to(std::uint64_t tail) const noexcept { return read_ != tail; }
    // Calls fn(const Record&) for each record up to `tail` (a tail() read
    // earlier), oldest first, until fn returns false: that record stays
    // first in line and `stopped` is set. Returns the records taken.
    template <class Fn>
    std::size_t drain_to(std::uint64_t tail, Fn& fn, bool& stopped) {
        std::uint64_t head = read_;
        std::size_t records = 0;
        while (head != tail) {
            const std::size_t at = static_cast<std::size_t>(head % bytes_.size());
            const std::size_t to_end = bytes_.size() - at;
            const Length length = to_end < length_bytes ? skip_marker : get_length(at);
            if (length == skip_marker) {
                head += to_end;
                continue;
            }
            if (!fn(Framing::decode(std::span<const std::uint8_t>(bytes_.data() + at + length_bytes, length)))) {
                stopped = true;
                break;
            }
            head += length_bytes + length;
            ++records;
        }
        read_ = head;
        make_room(head);
        taken_.store(head, std::memory_order_release);
        return records;
    }
    std::size_t capacity_bytes() const { return bytes_.size(); }
    std::size_t resident_bytes() const { return bytes_.resident(); }
    std::uint64_t releases() const noexcept { return releases_; }

private:
    // Consumer: tells the producer it may write up to `read`, after giving
    // back the pages read (whole pages, at least release_bytes_ at a time).
    void make_room(std::uint64_t read) noexcept {
        if (release_bytes_ == 0) return head_.store(read, std::memory_order_release);
        const std::uint64_t from = head_.load(std::memory_order_relaxed);
        const std::uint64_t to = read / MappedBytes::page_size() * MappedBytes::page_size();
        if (to < from + release_bytes_) return;
        const std::size_t size = bytes_.size();  // whole pages
        const std::size_t at = static_cast<std::size_t>(from % size), end = static_cast<std::size_t>(to % size);
        if (to - from >= size) {
            bytes_.release(0, size);
        } else if (at < end) {
            bytes_.release(at, end);
        } else {
            bytes_.release(at, size);
            bytes_.release(0, end);
        }
        ++releases_;
        head_.store(to, std::memory_order_release);
    }
    void put_length(std::size_t at, Length length) noexcept { std::memcpy(bytes_.data() + at, &length, length_bytes); }
    Length get_length(std::size_t at) const noexcept {
        Length length;
        std::memcpy(&length, bytes_.data() + at, length_bytes);
        return length;
    }

    const std::size_t release_bytes_;  // 0: kept whole
    MappedBytes bytes_;
    alignas(64) std::atomic<std::uint64_t> head_{0};   // consumer: bytes the producer may write over
    std::uint64_t read_ = 0;                           // consumer: bytes taken
    std::uint64_t releases_ = 0;                       // consumer: times pages went back
    alignas(64) std::atomic<std::uint64_t> taken_{0};  // consumer: read_, for the producer
    alignas(64) std::atomic<std::uint64_t> tail_{0};   // producer: bytes written
};

template <class Framing>
class FrameRing {
public:
    using Record = typename Framing::Record;

    // `capacity_bytes`: records and their 2-byte lengths; at least room for
    // two of the largest record the framing takes. A large ring holds a
    // first ring's worth more, and maps a few pages more (what its spill
    // ring holds back).
    explicit FrameRing(std::size_t capacity_bytes)
        : first_(capacity_bytes < min_spilling_ring ? capacity_bytes : release_batch(capacity_bytes), 0) {
        if (capacity_bytes >= min_spilling_ring) spill_.emplace(capacity_bytes, release_batch(capacity_bytes));
    }

    // Producer (packet thread). False when refused: closed, full, or a frame
    // the framing cannot hold.
    template <class... Args>
    bool push(const Args&... args) noexcept {
        if (closed_.load(std::memory_order_acquire)) return false;
        const std::size_t size = Framing::size(args...);
        if (size == 0 || size > Records::max_length) return refuse();
        // Back to the first ring once the consumer has read all the spill
        // took (it reads the first ring before the spill, so that is read too).
        if (spilling_ && spill_->all_taken()) spilling_ = false;
        if (!spilling_) {
            if (first_.push(size, args...)) return true;
            if (!spill_) return refuse();
            spilling_ = true;
        }
        return spill_->push(size, args...) || refuse();
    }

    // Consumer (io thread).
    bool has_data() const noexcept { return first_.has_data() || (spill_ && spill_->has_data()); }
    // Calls fn(const Record&) for each queued frame, oldest first; returns
    // how many.
    template <class Fn>
    std::size_t drain(Fn&& fn) {
        return drain_while([&](const Record& r) {
            fn(r);
            return true;
        });
    }
    // As drain(), but a frame for which fn returns false stays queued, first
    // in line, and the drain stops there.
    template <class Fn>
    std::size_t drain_while(Fn&& fn) {
        std::size_t frames = 0;
        bool stopped = false;
        for (;;) {
            frames += first_.drain_to(first_.tail(), fn, stopped);
            if (stopped || !spill_) return frames;
            // What the spill took came after every record the first ring
            // had before it: those are seen once its tail is, and read first.
            // (An empty spill: what came meanwhile waits for the next call.)
            const std::uint64_t spill_tail = spill_->tail();
            if (!spill_->has_data_to(spill_tail)) return frames;
            if (first_.has_data()) continue;
            return frames + spill_->drain_to(spill_tail, fn, stopped);
        }
    }
    // Frames refused since the last call.
    std::uint64_t take_dropped() noexcept { return dropped_.exchange(0, std::memory_order_relaxed); }
    // From now on every frame is refused (the connection is gone).
    void close() noexcept { closed_.store(true, std::memory_order_release); }
    std::size_t capacity_bytes() const { return first_.capacity_bytes() + (spill_ ? spill_->capacity_bytes() : 0); }
    // Of it, the bytes in memory now (a syscall: for tests and diagnostics).
    std::size_t resident_bytes() const { return first_.resident_bytes() + (spill_ ? spill_->resident_bytes() : 0); }
    // Times the consumer gave pages back (for tests and diagnostics).
    std::uint64_t releases() const noexcept { return spill_ ? spill_->releases() : 0; }

private:
    using Records = RecordRing<Framing>;
    static constexpr std::size_t min_spilling_ring = 16 * 1024;
    // The first ring's size, and the least the spill ring gives back at a
    // time: an eighth of the ring in whole pages, within these bounds (each
    // release costs the process a TLB flush on every core it runs on, so a
    // large ring gives back many pages at once; a paced call's ring, one per
    // call or per channel, gives back each page it has read: what it holds
    // is then a call's memory).
    static constexpr std::size_t min_release_batch = 4 * 1024, max_release_batch = 64 * 1024;
    static std::size_t release_batch(std::size_t capacity_bytes) {
        const std::size_t page = MappedBytes::page_size();
        const std::size_t batch = std::clamp(capacity_bytes / 8, min_release_batch, max_release_batch);
        return std::max(page, batch / page * page);
    }

    bool refuse() noexcept {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }

    Records first_;                 // kept whole: where the records go while the consumer keeps up
    std::optional<Records> spill_;  // a large ring's: sized for a stall, its pages given back once read
    bool spilling_ = false;         // producer: the first ring filled, the spill not read to its end yet
    std::atomic<bool> closed_{false};
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace voxfork::stream::detail
