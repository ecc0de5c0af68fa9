// A connection's send queue, io thread only: binary messages, dropped
// oldest-first when `binary_capacity` of them wait; text messages are never
// dropped and go out after every binary message queued before them.
//
// The binary messages are records (tag, length, bytes) back to back in one
// buffer that grows with what is queued: a connection whose server keeps up
// holds a few milliseconds of audio, and only a backed-up one takes memory
// for the 2 s it may queue (a ring of fixed 512-byte slots for 2 s took
// 2 MB per 20-call connection whether it was used or not).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <voxfork/ws.hpp>

namespace voxfork::ws::detail {

struct BinarySlot {
    std::uint32_t tag = 0;  // the handler's stream
    std::uint16_t size = 0;
    std::array<std::uint8_t, max_queued_binary> bytes{};
    std::span<const std::uint8_t> message() const { return {bytes.data(), size}; }
};

class SendQueue {
public:
    explicit SendQueue(std::size_t binary_capacity);

    // Queues a message (at most max_queued_binary bytes); when full the
    // oldest binary message is dropped and its tag returned, so it can be counted.
    std::optional<std::uint32_t> push_binary(std::uint32_t tag, std::span<const std::uint8_t> message);
    void push_text(std::string text);

    enum class Kind { none, binary, text };
    // Takes the next message in wire order into `binary` or `text`.
    Kind pop(BinarySlot& binary, std::string& text);

    // Empties it; `dropped(tag, message)` for each binary message thrown
    // away, oldest first.
    template <class Dropped>
    void clear(Dropped&& dropped) {
        for (; binary_head_ != binary_tail_; ++binary_head_) {
            const Oldest oldest = take_oldest();
            dropped(oldest.tag, oldest.message);
        }
        texts_.clear();
        release();
    }

    bool empty() const { return binary_head_ == binary_tail_ && texts_.empty(); }
    std::size_t binary_size() const { return static_cast<std::size_t>(binary_tail_ - binary_head_); }
    std::size_t text_size() const { return texts_.size(); }
    std::size_t binary_capacity() const { return binary_capacity_; }
    // Bytes the binary messages' buffer holds now, used or not.
    std::size_t buffer_bytes() const { return bytes_.capacity(); }

private:
    struct Text {
        std::uint64_t after;  // binary messages queued before it
        std::string text;
    };
    struct Header {
        std::uint32_t tag;
        std::uint16_t size;
    };
    static constexpr std::size_t header_bytes = sizeof(std::uint32_t) + sizeof(std::uint16_t);
    // A buffer this large or smaller is kept when the queue empties, so one
    // that fills and drains every few milliseconds does not allocate each time.
    static constexpr std::size_t kept_bytes = 16 * 1024;

    // The oldest binary message (the caller counts binary_head_); its bytes
    // stay valid until the next push.
    struct Oldest {
        std::uint32_t tag;
        std::span<const std::uint8_t> message;
    };
    Oldest take_oldest() {
        Header h;
        std::memcpy(&h.tag, bytes_.data() + read_, sizeof h.tag);
        std::memcpy(&h.size, bytes_.data() + read_ + sizeof h.tag, sizeof h.size);
        const std::span<const std::uint8_t> message(bytes_.data() + read_ + header_bytes, h.size);
        read_ += header_bytes + h.size;
        return {h.tag, message};
    }
    // The buffer after the oldest messages left it: empty → back to the
    // start (and to the kept size); mostly read → the rest moved forward.
    void settle();
    void release();

    std::size_t binary_capacity_;
    std::vector<std::uint8_t> bytes_;  // records from read_ on
    std::size_t read_ = 0;
    std::uint64_t binary_head_ = 0;
    std::uint64_t binary_tail_ = 0;
    std::deque<Text> texts_;
};

}  // namespace voxfork::ws::detail
