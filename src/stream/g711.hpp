// G.711 (ITU-T G.711): expansion of µ-law and A-law to 16-bit linear PCM, and
// the µ-law compression AudioHook needs to carry an A-law call as PCMU.
#pragma once

#include <cstdint>

namespace voxfork::stream::g711 {

std::int16_t ulaw_to_linear(std::uint8_t u);
std::int16_t alaw_to_linear(std::uint8_t a);
std::uint8_t linear_to_ulaw(std::int16_t sample);
// One lookup: the µ-law code of the A-law code's sample.
std::uint8_t alaw_to_ulaw(std::uint8_t a);

}  // namespace voxfork::stream::g711
