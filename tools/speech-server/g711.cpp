#include "g711.hpp"

#include <array>
#include <cstddef>

namespace speech {

std::int16_t ulaw_to_linear(std::uint8_t u) {
    u = static_cast<std::uint8_t>(~u);  // µ-law bytes are sent inverted
    int exponent = (u >> 4) & 0x07;
    int mantissa = u & 0x0F;
    // 0x84 is the bias µ-law adds before compressing.
    int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return static_cast<std::int16_t>((u & 0x80) ? -magnitude : magnitude);
}

std::int16_t alaw_to_linear(std::uint8_t a) {
    a ^= 0x55;  // A-law inverts every other bit
    int exponent = (a >> 4) & 0x07;
    int mantissa = a & 0x0F;
    int magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
    return static_cast<std::int16_t>((a & 0x80) ? magnitude : -magnitude);
}

namespace {
struct Tables {
    std::array<std::int16_t, 256> ulaw{}, alaw{};
    Tables() {
        for (int i = 0; i < 256; ++i) {
            ulaw[i] = ulaw_to_linear(static_cast<std::uint8_t>(i));
            alaw[i] = alaw_to_linear(static_cast<std::uint8_t>(i));
        }
    }
};
const Tables tables;
}  // namespace

void g711_decode(Codec codec, const std::uint8_t* in, std::int16_t* out, std::size_t n) {
    const auto& t = codec == Codec::pcmu ? tables.ulaw : tables.alaw;
    for (std::size_t i = 0; i < n; ++i) out[i] = t[in[i]];
}

}  // namespace speech
