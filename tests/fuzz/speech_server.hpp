// The speech server's side of a WebSocket as the protocol targets replay it:
// each message of the input is one thing that happens to a connection, in
// order. A message starting with
//   'b'  is a binary message from the server (the rest),
//   'k'  lets time pass: 20 ms times the next byte (a tick follows), up
//        to 30 s in all (SimulatedClock),
//   'c'  is a command of the session (the next byte picks which),
// and any other message is a text message from the server, whole.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "voxfork/ws.hpp"

namespace voxfork::fuzz {

// The transport: what the protocol sends must be well-formed, and nothing
// goes out after the connection was dropped.
class CheckingOutput final : public ws::Output {
public:
    void send_binary(std::uint32_t, std::span<const std::uint8_t> message) override {
        VOXFORK_FUZZ_CHECK(!dropped);
        VOXFORK_FUZZ_CHECK(message.size() <= ws::max_queued_binary);
    }
    void send_text(std::string text) override {
        VOXFORK_FUZZ_CHECK(!dropped);
        VOXFORK_FUZZ_CHECK(nlohmann::json::accept(text) || !json_only);
    }
    void close_when_sent() override { closed = true; }
    void drop() override { dropped = true; }
    bool json_only = true;  // raw's stop and keepalive messages are the operator's text
    bool closed = false, dropped = false;
};

struct Step {
    enum class Kind { text, binary, wait, command } kind = Kind::text;
    std::string_view text;  // the text or binary message
    unsigned value = 0;     // 20 ms units to wait, or the command's number
};

inline Step step_of(std::string_view message) {
    if (message.empty()) return {Step::Kind::text, message, 0};
    const unsigned next = message.size() > 1 ? static_cast<unsigned char>(message[1]) : 0;
    switch (message[0]) {
        case 'b':
            return {Step::Kind::binary, message.substr(1), 0};
        case 'k':
            return {Step::Kind::wait, {}, next};
        case 'c':
            return {Step::Kind::command, {}, next};
        default:
            return {Step::Kind::text, message, 0};
    }
}

// The time an input lets pass stops at 30 s in all. Every timer of the
// protocols is shorter (AudioHook's 5 s for `opened`, raw's 5 s keepalive,
// the pacing's catch-up after a stall), and inputs that simulated minutes of
// paced audio spent the fuzzer's time copying silence.
class SimulatedClock {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto tick = std::chrono::milliseconds(20);
    static constexpr auto longest = std::chrono::seconds(30);

    Clock::time_point now() const { return now_; }
    Clock::time_point advance(unsigned ticks) {
        now_ = std::min(now_ + tick * ticks, start_ + longest);
        return now_;
    }

private:
    Clock::time_point start_ = Clock::now();
    Clock::time_point now_ = start_;
};

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// What a replay handed the connection, for targets that check its counters.
struct Replayed {
    std::uint64_t texts = 0, binaries = 0;
};

// Plays an input's steps into a protocol's connection: the server's text and
// binary messages (on_binary must answer binary_accepted: a protocol either
// takes them or calls them an error), time passing, and the session's own
// commands (on_command gets the command's number). After each step what the
// connection queued goes out through `out`.
template <class Connection, class OnCommand>
Replayed replay(Connection& connection, CheckingOutput& out, SimulatedClock& clock, std::string_view input,
                bool binary_accepted, OnCommand on_command) {
    Replayed replayed;
    for (std::string_view message : messages(input)) {
        const Step step = step_of(message);
        switch (step.kind) {
            case Step::Kind::text:
                connection.on_text(step.text);
                ++replayed.texts;
                break;
            case Step::Kind::binary:
                VOXFORK_FUZZ_CHECK(connection.on_binary(as_bytes(step.text)) == binary_accepted);
                ++replayed.binaries;
                break;
            case Step::Kind::wait:
                connection.on_tick(clock.advance(step.value));
                break;
            case Step::Kind::command:
                on_command(step.value);
                break;
        }
        // A dropped connection is closed by the transport at once; nothing
        // more reaches it.
        if (out.dropped) break;
        connection.drain(out);
    }
    return replayed;
}

}  // namespace voxfork::fuzz
