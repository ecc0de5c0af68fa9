#include "g711.hpp"

#include <array>

#include "../../src/stream/g711.hpp"

namespace speech {
namespace {
namespace g711 = voxfork::stream::g711;

struct Tables {
    std::array<std::int16_t, 256> ulaw{}, alaw{};
    Tables() {
        for (int i = 0; i < 256; ++i) {
            ulaw[i] = g711::ulaw_to_linear(static_cast<std::uint8_t>(i));
            alaw[i] = g711::alaw_to_linear(static_cast<std::uint8_t>(i));
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
