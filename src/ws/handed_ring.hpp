// Continuity: copies of the last binary messages a connection handed to its
// link, each with the link's byte count after it, so that at a loss those
// the server's TCP never acknowledged can go back to the handler. A byte
// ring of records sized once (the handler says how much: about a second of
// its audio); the oldest records are overwritten. io thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace voxfork::ws::detail {

class HandedRing {
public:
    void reserve(std::size_t bytes) { bytes_.assign(bytes, 0); }
    bool enabled() const { return !bytes_.empty(); }

    // `end`: the link's byte count once the message was handed.
    void add(std::uint32_t tag, std::span<const std::uint8_t> message, std::uint64_t end) {
        const Header h{end, tag, static_cast<std::uint32_t>(message.size())};
        const std::size_t need = sizeof h + message.size();
        if (need > bytes_.size()) return;
        while (bytes_.size() - used_ < need) pop();
        write(head_ + used_, &h, sizeof h);
        write(head_ + used_ + sizeof h, message.data(), message.size());
        used_ += need;
    }

    // Calls fn(tag, message) for each kept message whose end is past
    // `acknowledged`, oldest first, then forgets them all (a new link counts
    // its bytes from 0).
    template <class Fn>
    void take_unacknowledged(std::uint64_t acknowledged, Fn&& fn) {
        std::vector<std::uint8_t> message;
        while (used_ > 0) {
            Header h{};
            read(head_, &h, sizeof h);
            if (h.end > acknowledged) {
                message.resize(h.size);
                read(head_ + sizeof h, message.data(), h.size);
                fn(h.tag, std::span<const std::uint8_t>(message));
            }
            pop();
        }
    }
    void clear() { head_ = used_ = 0; }

private:
    struct Header {
        std::uint64_t end;
        std::uint32_t tag;
        std::uint32_t size;
    };
    void pop() {
        Header h{};
        read(head_, &h, sizeof h);
        const std::size_t size = sizeof h + h.size;
        head_ = (head_ + size) % bytes_.size();
        used_ -= size;
    }
    void write(std::size_t at, const void* data, std::size_t n) {
        at %= bytes_.size();
        const std::size_t first = std::min(n, bytes_.size() - at);
        std::memcpy(bytes_.data() + at, data, first);
        std::memcpy(bytes_.data(), static_cast<const std::uint8_t*>(data) + first, n - first);
    }
    void read(std::size_t at, void* data, std::size_t n) const {
        at %= bytes_.size();
        const std::size_t first = std::min(n, bytes_.size() - at);
        std::memcpy(data, bytes_.data() + at, first);
        std::memcpy(static_cast<std::uint8_t*>(data) + first, bytes_.data(), n - first);
    }

    std::vector<std::uint8_t> bytes_;
    std::size_t head_ = 0, used_ = 0;
};

}  // namespace voxfork::ws::detail
