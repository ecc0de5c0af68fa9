#include "send_queue.hpp"

#include <algorithm>
#include <cstring>

namespace voxfork::ws::detail {

SendQueue::SendQueue(std::size_t binary_capacity) : binary_(std::max<std::size_t>(binary_capacity, 1)) {}

std::optional<std::uint32_t> SendQueue::push_binary(std::uint32_t tag, std::span<const std::uint8_t> message) {
    std::optional<std::uint32_t> dropped;
    if (binary_size() == binary_.size()) {
        dropped = binary_[binary_head_ % binary_.size()].tag;
        ++binary_head_;
    }
    BinarySlot& slot = binary_[binary_tail_ % binary_.size()];
    const std::size_t size = std::min(message.size(), max_queued_binary);
    slot.tag = tag;
    slot.size = static_cast<std::uint16_t>(size);
    std::memcpy(slot.bytes.data(), message.data(), size);
    ++binary_tail_;
    return dropped;
}

void SendQueue::push_text(std::string text) {
    texts_.push_back({binary_tail_, std::move(text)});
}

SendQueue::Kind SendQueue::pop(BinarySlot& binary, std::string& text) {
    // A text goes first once every binary message queued before it is gone
    // (sent or dropped).
    if (!texts_.empty() && texts_.front().after <= binary_head_) {
        text = std::move(texts_.front().text);
        texts_.pop_front();
        return Kind::text;
    }
    if (binary_head_ != binary_tail_) {
        const BinarySlot& slot = binary_[binary_head_ % binary_.size()];
        binary.tag = slot.tag;
        binary.size = slot.size;
        std::memcpy(binary.bytes.data(), slot.bytes.data(), slot.size);
        ++binary_head_;
        return Kind::binary;
    }
    return Kind::none;
}

}  // namespace voxfork::ws::detail
