// WebSocket framing of the client's binary messages (RFC 6455 §5.2), done by
// voxfork itself for audio so that many frames can share one socket write;
// Beast still frames the text messages, pings and the close.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace voxfork::ws::detail {

// Largest header a client frame needs: 2 + 8 (64-bit length) + 4 (mask).
inline constexpr std::size_t max_client_header = 14;

// Appends one FIN binary frame carrying `payload`, masked with `mask` (a
// client must mask every frame). `out` grows only past its capacity.
void append_binary_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload,
                         std::array<std::uint8_t, 4> mask);

// Masking keys from OpenSSL's generator (RFC 6455 wants them unpredictable),
// fetched a few hundred at a time so a frame costs no system call.
class MaskSource {
public:
    std::array<std::uint8_t, 4> next();

private:
    std::array<std::uint8_t, 1024> keys_{};
    std::size_t used_ = keys_.size();
};

}  // namespace voxfork::ws::detail
