// A connection's send queue, io thread only: binary messages in a fixed ring
// of slots, dropped oldest-first when full; text messages are never dropped
// and go out after every binary message queued before them.
#pragma once

#include <array>
#include <cstdint>
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
            const BinarySlot& slot = binary_[binary_head_ % binary_.size()];
            dropped(slot.tag, slot.message());
        }
        texts_.clear();
    }

    bool empty() const { return binary_head_ == binary_tail_ && texts_.empty(); }
    std::size_t binary_size() const { return static_cast<std::size_t>(binary_tail_ - binary_head_); }
    std::size_t text_size() const { return texts_.size(); }
    std::size_t binary_capacity() const { return binary_.size(); }

private:
    struct Text {
        std::uint64_t after;  // binary messages queued before it
        std::string text;
    };
    std::vector<BinarySlot> binary_;
    std::uint64_t binary_head_ = 0;
    std::uint64_t binary_tail_ = 0;
    std::deque<Text> texts_;
};

}  // namespace voxfork::ws::detail
