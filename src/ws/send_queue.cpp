#include "send_queue.hpp"

#include <algorithm>

namespace voxfork::ws::detail {

SendQueue::SendQueue(std::size_t binary_capacity) : binary_capacity_(std::max<std::size_t>(binary_capacity, 1)) {}

std::optional<std::uint32_t> SendQueue::push_binary(std::uint32_t tag, std::span<const std::uint8_t> message) {
    std::optional<std::uint32_t> dropped;
    if (binary_size() == binary_capacity_) {
        dropped = take_oldest().tag;
        ++binary_head_;
        settle();
    }
    const auto size = static_cast<std::uint16_t>(std::min(message.size(), max_queued_binary));
    const std::size_t at = bytes_.size();
    bytes_.resize(at + header_bytes + size);
    std::memcpy(bytes_.data() + at, &tag, sizeof tag);
    std::memcpy(bytes_.data() + at + sizeof tag, &size, sizeof size);
    std::memcpy(bytes_.data() + at + header_bytes, message.data(), size);
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
        const Oldest oldest = take_oldest();
        binary.tag = oldest.tag;
        binary.size = static_cast<std::uint16_t>(oldest.message.size());
        std::memcpy(binary.bytes.data(), oldest.message.data(), oldest.message.size());
        ++binary_head_;
        settle();
        return Kind::binary;
    }
    return Kind::none;
}

void SendQueue::settle() {
    if (read_ == bytes_.size()) return release();
    // Moved forward once half the buffer is read: each byte is moved at most
    // about once for each time it is queued.
    if (read_ > bytes_.size() / 2) {
        bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(read_));
        read_ = 0;
    }
}

void SendQueue::release() {
    bytes_.clear();
    read_ = 0;
    if (bytes_.capacity() > kept_bytes) std::vector<std::uint8_t>().swap(bytes_);
}

}  // namespace voxfork::ws::detail
