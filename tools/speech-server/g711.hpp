// G.711 expansion to 16-bit linear PCM, for the channel WAV files: the
// daemon's own conversions (src/stream/g711.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace speech {

enum class Codec { pcmu, pcma };

// Expands n bytes of the given law into out[0..n).
void g711_decode(Codec codec, const std::uint8_t* in, std::int16_t* out, std::size_t n);

}  // namespace speech
