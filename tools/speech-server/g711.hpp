// G.711 expansion to 16-bit linear PCM (ITU-T G.711 segment tables).
#pragma once

#include <cstddef>
#include <cstdint>

namespace speech {

enum class Codec { pcmu, pcma };

std::int16_t ulaw_to_linear(std::uint8_t u);
std::int16_t alaw_to_linear(std::uint8_t a);

// Expands n bytes of the given law into out[0..n).
void g711_decode(Codec codec, const std::uint8_t* in, std::int16_t* out, std::size_t n);

}  // namespace speech
