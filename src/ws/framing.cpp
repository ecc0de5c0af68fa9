#include "framing.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string_view>

namespace voxfork::ws::detail {

void append_binary_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload,
                         std::array<std::uint8_t, 4> mask) {
    constexpr std::uint8_t fin_binary = 0x82;
    constexpr std::uint8_t masked = 0x80;
    const std::size_t n = payload.size();
    std::array<std::uint8_t, max_client_header> header{};
    std::size_t h = 0;
    header[h++] = fin_binary;
    if (n < 126) {
        header[h++] = static_cast<std::uint8_t>(masked | n);
    } else if (n <= 0xffff) {
        header[h++] = masked | 126;
        header[h++] = static_cast<std::uint8_t>(n >> 8);
        header[h++] = static_cast<std::uint8_t>(n);
    } else {
        header[h++] = masked | 127;
        for (int shift = 56; shift >= 0; shift -= 8) header[h++] = static_cast<std::uint8_t>(std::uint64_t{n} >> shift);
    }
    for (std::uint8_t m : mask) header[h++] = m;

    const std::size_t at = out.size();
    out.resize(at + h + n);
    std::uint8_t* dst = out.data() + at;
    std::copy_n(header.data(), h, dst);
    dst += h;
    // Eight bytes at a time with the key repeated (the byte loop was the
    // io thread's costliest line of its own); i stays a multiple of 8, so the
    // tail starts at key byte 0.
    const std::array<std::uint8_t, 8> key_twice = {mask[0], mask[1], mask[2], mask[3],
                                                   mask[0], mask[1], mask[2], mask[3]};
    std::uint64_t key;
    std::memcpy(&key, key_twice.data(), sizeof key);
    const std::uint8_t* src = payload.data();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, src + i, sizeof word);
        word ^= key;
        std::memcpy(dst + i, &word, sizeof word);
    }
    for (; i < n; ++i) dst[i] = src[i] ^ mask[i & 3];
}

std::array<std::uint8_t, 4> MaskSource::next() {
    if (used_ + 4 > keys_.size()) {
        if (RAND_bytes(keys_.data(), static_cast<int>(keys_.size())) != 1) {
            // OpenSSL's generator failing is rare; masking still has to go on.
            std::random_device device;
            for (auto& b : keys_) b = static_cast<std::uint8_t>(device());
        }
        used_ = 0;
    }
    std::array<std::uint8_t, 4> key;
    std::copy_n(keys_.data() + used_, 4, key.data());
    used_ += 4;
    return key;
}

}  // namespace voxfork::ws::detail
