#include "g711.hpp"

#include <array>
#include <cstdlib>

namespace voxfork::stream::g711 {

std::int16_t ulaw_to_linear(std::uint8_t u) {
    u = static_cast<std::uint8_t>(~u);  // µ-law bytes are sent inverted
    const int exponent = (u >> 4) & 0x07;
    const int mantissa = u & 0x0F;
    // 0x84 is the bias µ-law adds before compressing.
    const int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    return static_cast<std::int16_t>((u & 0x80) ? -magnitude : magnitude);
}

std::int16_t alaw_to_linear(std::uint8_t a) {
    a ^= 0x55;  // A-law inverts every other bit
    const int exponent = (a >> 4) & 0x07;
    const int mantissa = a & 0x0F;
    const int magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
    return static_cast<std::int16_t>((a & 0x80) ? magnitude : -magnitude);
}

std::uint8_t linear_to_ulaw(std::int16_t sample) {
    constexpr int bias = 0x84;
    constexpr int clip = 32635;
    const int sign = sample < 0 ? 0x80 : 0;
    int magnitude = std::abs(static_cast<int>(sample));
    if (magnitude > clip) magnitude = clip;
    magnitude += bias;
    int exponent = 7;
    for (int mask = 0x4000; (magnitude & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
    const int mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

namespace {
const std::array<std::uint8_t, 256> alaw_ulaw = [] {
    std::array<std::uint8_t, 256> table{};
    for (int a = 0; a < 256; ++a) table[a] = linear_to_ulaw(alaw_to_linear(static_cast<std::uint8_t>(a)));
    return table;
}();
}  // namespace

std::uint8_t alaw_to_ulaw(std::uint8_t a) {
    return alaw_ulaw[a];
}

}  // namespace voxfork::stream::g711
