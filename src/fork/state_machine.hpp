// The per-call fork state machine as a table: state × event → steps, next
// state. It holds no data of its own; the controller classifies what happened
// into an Event (guards such as "does the guid match" are decided there, in
// docs/controller.md's validation order) and carries out the steps in order.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace voxfork::fork {

enum class State : std::uint8_t { idle, connecting, active, paused, stopped };

enum class Event : std::uint8_t {
    // Requests that passed JSON validation (steps 1–4), classified by the guards
    // of steps 5–7. *_foreign: a fork exists and the request's call-guid differs.
    start,                    // the call is fork-enabled, not SRTP, on G.711
    start_unsupported_flow,   // not fork-enabled, or SRTP
    start_codec_unsupported,  // call codec is not G.711
    stop,
    stop_foreign,
    update,
    update_foreign,
    update_other_server,  // host/port/secure/path/token differ from the START's (step 4)
    // The stream layer.
    attach_ok,         // the session is up (connection, channels); nothing to pause
    attach_ok_paused,  // same, but hold or a pinned codec that differs: start paused
    attach_failed,
    session_ended,  // the server or the connection ended it: `Connection closed` or `TCP Connection closed`
    // The call.
    pause,       // hold, or codec no longer the fork's
    resume,      // neither any more
    law_change,  // unpinned fork, call moved to the other G.711 law
    // The server (AudioHook `pause` / `resume`, answered by the protocol).
    server_pause,
    server_resume,
    // Continuity (docs/controller.md): the session's connection is being
    // reconnected (audio kept, the tee goes on), and is back.
    connection_lost,
    connection_back,
    call_ended,  // BYE either side
};
inline constexpr std::size_t event_count = static_cast<std::size_t>(Event::call_ended) + 1;
inline constexpr std::size_t state_count = static_cast<std::size_t>(State::stopped) + 1;

enum class Act : std::uint8_t {
    none,
    reject,          // status ERROR <reason>; nothing else changes
    lock_carrier,    // the request was accepted: its carrier is the call's from now on
    attach,          // open a stream session to the server
    abandon,         // give up a session not yet up
    send_start,      // start: the codec in force, the metadata
    send_pause,      // pause, reason <reason> or the event's
    send_resume,     // resume with the codec in force
    send_update,     // update with the new metadata
    send_stop,       // stop, reason <reason>
    set_metadata,    // the UPDATE's metadata replaces the fork's
    defer_update,    // connecting: the UPDATE waits for the connection (kept in order)
    flush_updates,   // each deferred UPDATE: metadata, UPDATE both channels, status UPDATED
    set_codec,       // the codec in force follows the call (unpinned)
    gate_pause,      // the tee stops sending frames
    gate_resume,     // the tee sends again; next frame rebases its position
    tap_on,          // the tee receives the call's RTP
    tap_off,
    detach,  // the fork lets go of its session
    licence_enhanced,
    count_started,
    count_failed,
    count_ended,
    status_started,  // STARTED connection-id, channels
    status_paused,   // PAUSED reason <reason> or the event's
    status_resumed,  // RESUMED codec
    status_updated,
    status_stopped,  // STOPPED <reason> or the event's
    status_error,    // ERROR, the event's reason (a START that could not be carried out)
    trace_stopped,   // FORK_ET "Forking stopped (<reason>)" where no status says it
};

// One step; `reason` is empty when the event supplies it.
struct Step {
    constexpr Step() = default;
    constexpr Step(Act a, std::string_view r = {}) : act(a), reason(r) {}
    Act act = Act::none;
    std::string_view reason;
};

struct Row {
    State from;
    Event event;
    std::array<Step, 10> steps;  // Act::none pads
    State to;
};

// The row for (state, event); nullptr when the pair is ignored (state unchanged,
// nothing done). Every request event has a row in every state.
const Row* find_row(State from, Event event);
std::span<const Row> table();

std::string_view to_string(State state);
std::string_view to_string(Event event);

}  // namespace voxfork::fork
