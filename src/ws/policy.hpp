// Pure decisions of the pool, kept apart from sockets so they are unit-tested
// directly: which connection a call joins, how a failed step is reported,
// which OpenSSL suites a profile offers, how a token is shown.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <voxfork/config.hpp>

namespace voxfork::ws::detail {

// A connection as the choice sees it: `calls` counts calls attached while it
// is still connecting too.
struct Candidate {
    std::uint32_t id = 0;
    int calls = 0;
};

// The id of the candidate with the fewest calls below `threshold` (the lower
// id on a tie), or nothing: a new connection is needed.
std::optional<std::uint32_t> choose_connection(std::span<const Candidate> candidates, int threshold);

// The step of the connection pipeline that failed.
enum class Step { resolve, proxy_resolve, tcp_connect, proxy_connect, tls_handshake, upgrade };

enum class FailureCounter { none, tcp, http };

struct Failure {
    std::string_view reason;  // reason string the controller gets
    FailureCounter counter;
};

// The one place a failed step becomes a reason string and a counter.
// `http_status` is the upgrade's (or CONNECT's) answer, 0 when there was none.
Failure classify_failure(Step step, int http_status);

std::string_view to_string(Step step);

// The OpenSSL TLS 1.2 cipher list for the profile's `secure-ciphersuite`
// names (empty: all six), in the table's order, joined with ':'.
std::string openssl_cipher_list(std::span<const config::CipherSuite> suites);

// `Auth Token:` value: the first 8 characters and `****`, `none` without one.
std::string mask_token(std::string_view token);

// RFC 8305's Connection Attempt Delay: how long one address has to connect
// before the next one is tried too.
inline constexpr std::chrono::milliseconds connection_attempt_delay{250};

// `ws://host:port` or `wss://host:port` for the event trace (an IPv6
// literal in brackets: `ws://[::1]:8000`).
std::string url_of(std::string_view host, std::uint16_t port, bool secure);

// Audio send-queue capacity in frames: 2 s of both channels of `threshold` calls.
// Continuity (docs/stream.md): reconnect attempts 0.2 s after the loss, then
// at doubling intervals up to 5 s, the last one when the window ends.
inline constexpr std::chrono::milliseconds reconnect_backoff_first{200};
inline constexpr std::chrono::milliseconds reconnect_backoff_max{5000};
// The shortest time a reconnect attempt is given, the window's last
// included: a server slow to answer the upgrade at the window's end still
// gets the fork back, and one that never answers ends the fork this long
// after the window at most.
inline constexpr std::chrono::milliseconds reconnect_attempt_min{5000};
struct ReconnectStep {
    bool give_up = false;  // the window is over
    std::chrono::steady_clock::duration wait{};          // until the next attempt
    std::chrono::steady_clock::duration next_backoff{};  // the interval after it
};
ReconnectStep reconnect_step(std::chrono::steady_clock::duration backoff,
                             std::chrono::steady_clock::duration window_left);
// How long one attempt may take: what is left of the window (an attempt that
// hangs, on a host that takes the TCP connection and never answers, ends
// with it), at least reconnect_attempt_min, at most the connect timeout.
std::chrono::milliseconds reconnect_attempt_timeout(std::chrono::milliseconds connect_timeout,
                                                    std::chrono::steady_clock::duration window_left);

constexpr std::size_t queue_frames_for(int threshold) {
    return static_cast<std::size_t>(threshold < 1 ? 1 : threshold) * 2 * 50 * 2;
}

// Continuity: the binary messages a replay may queue now, `queued` of
// `capacity` waiting. It fills the queue to half at most: the other half
// (a second of audio) is for the live audio that follows the replay. A
// replay that filled the whole queue had the next live frames push its own
// oldest ones out whenever the server was still catching up.
constexpr std::size_t replay_room(std::size_t queued, std::size_t capacity) {
    const std::size_t half = capacity > 1 ? capacity / 2 : 1;
    return queued >= half ? 0 : half - queued;
}

}  // namespace voxfork::ws::detail
