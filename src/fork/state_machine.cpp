// The fork state table. Read it against docs/controller.md: "How a request is
// checked" (steps 5–7) are the request rows, "Status INFOs" the status steps,
// "Hold, codec changes and pauses" the pause/resume rows.
// docs/forking.md prints the same table.
#include "state_machine.hpp"

#include <algorithm>

#include "request.hpp"

namespace voxfork::fork {
namespace {

using S = State;
using E = Event;
using A = Act;

constexpr Step rej(std::string_view why) {
    return {A::reject, why};
}

using Steps = std::array<Step, 10>;

// Leaving a started fork (active or paused) on a request, a BYE, the
// connection or the server: the steps differ only in what is told to whom.
constexpr Steps stop_by_request{{{A::lock_carrier},
                                 {A::send_stop, reason::forking_stopped},
                                 {A::tap_off},
                                 {A::detach},
                                 {A::count_ended},
                                 {A::status_stopped, reason::forking_stopped}}};
constexpr Steps stop_by_bye{{{A::send_stop, reason::call_ended},
                             {A::tap_off},
                             {A::detach},
                             {A::count_ended},
                             {A::trace_stopped, reason::call_ended}}};
// The session is gone already (the server or its connection ended it; the
// protocol answered the server); detach again is harmless.
constexpr Steps stop_by_session{{{A::tap_off}, {A::detach}, {A::count_ended}, {A::status_stopped}}};
constexpr Steps update_started{{{A::lock_carrier}, {A::set_metadata}, {A::send_update}, {A::status_updated}}};

constexpr Row rows[] = {
    // ---- no fork exists: idle (never forked) or stopped (forked before) ----
    {S::idle, E::start, {{{A::lock_carrier}, {A::attach}}}, S::connecting},
    {S::idle, E::start_unsupported_flow, {{rej(reason::unsupported_flow)}}, S::idle},
    {S::idle, E::start_codec_unsupported, {{rej(reason::codec_not_supported)}}, S::idle},
    {S::idle, E::stop, {{rej(reason::invalid_stop)}}, S::idle},
    {S::idle, E::stop_foreign, {{rej(reason::invalid_stop)}}, S::idle},
    {S::idle, E::update, {{rej(reason::invalid_update)}}, S::idle},
    {S::idle, E::update_foreign, {{rej(reason::invalid_update)}}, S::idle},
    {S::idle, E::update_other_server, {{rej(reason::invalid_update)}}, S::idle},

    {S::stopped, E::start, {{{A::lock_carrier}, {A::attach}}}, S::connecting},
    {S::stopped, E::start_unsupported_flow, {{rej(reason::unsupported_flow)}}, S::stopped},
    {S::stopped, E::start_codec_unsupported, {{rej(reason::codec_not_supported)}}, S::stopped},
    {S::stopped, E::stop, {{rej(reason::invalid_stop)}}, S::stopped},
    {S::stopped, E::stop_foreign, {{rej(reason::invalid_stop)}}, S::stopped},
    {S::stopped, E::update, {{rej(reason::invalid_update)}}, S::stopped},
    {S::stopped, E::update_foreign, {{rej(reason::invalid_update)}}, S::stopped},
    {S::stopped, E::update_other_server, {{rej(reason::invalid_update)}}, S::stopped},

    // ---- connecting: the transport has not answered yet ----
    {S::connecting, E::start, {{rej(reason::invalid_start)}}, S::connecting},
    {S::connecting, E::start_unsupported_flow, {{rej(reason::invalid_start)}}, S::connecting},
    {S::connecting, E::start_codec_unsupported, {{rej(reason::invalid_start)}}, S::connecting},
    {S::connecting,
     E::stop,
     {{{A::lock_carrier}, {A::abandon}, {A::status_stopped, reason::forking_stopped}}},
     S::stopped},
    {S::connecting, E::stop_foreign, {{rej(reason::guid_mismatch)}}, S::connecting},
    // UPDATED means an UPDATE went to the server: it waits until START has.
    {S::connecting, E::update, {{{A::lock_carrier}, {A::defer_update}}}, S::connecting},
    {S::connecting, E::update_foreign, {{rej(reason::guid_mismatch)}}, S::connecting},
    {S::connecting, E::update_other_server, {{rej(reason::unexpected_format)}}, S::connecting},
    {S::connecting,
     E::attach_ok,
     {{{A::send_start},
       {A::tap_on},
       {A::licence_enhanced},
       {A::count_started},
       {A::status_started},
       {A::flush_updates}}},
     S::active},
    // Gate first, so no frame slips out between START and PAUSE.
    {S::connecting,
     E::attach_ok_paused,
     {{{A::send_start},
       {A::send_pause},
       {A::gate_pause},
       {A::tap_on},
       {A::licence_enhanced},
       {A::count_started},
       {A::status_started},
       {A::status_paused},
       {A::flush_updates}}},
     S::paused},
    {S::connecting, E::attach_failed, {{{A::count_failed}, {A::status_error}}}, S::idle},
    // The connection it was given closed before the answer came: the START
    // was never carried out.
    {S::connecting, E::session_ended, {{{A::abandon}, {A::count_failed}, {A::status_error}}}, S::idle},
    {S::connecting, E::call_ended, {{{A::abandon}}}, S::stopped},

    // ---- active: START sent, frames flowing ----
    {S::active, E::start, {{rej(reason::invalid_start)}}, S::active},
    {S::active, E::start_unsupported_flow, {{rej(reason::invalid_start)}}, S::active},
    {S::active, E::start_codec_unsupported, {{rej(reason::invalid_start)}}, S::active},
    {S::active, E::stop, stop_by_request, S::stopped},
    {S::active, E::stop_foreign, {{rej(reason::guid_mismatch)}}, S::active},
    {S::active, E::update, update_started, S::active},
    {S::active, E::update_foreign, {{rej(reason::guid_mismatch)}}, S::active},
    {S::active, E::update_other_server, {{rej(reason::unexpected_format)}}, S::active},
    {S::active, E::session_ended, stop_by_session, S::stopped},
    // Gate before PAUSE: a frame the tee made after PAUSE was queued would be
    // withheld by the pool with its seq already taken, a false gap.
    {S::active, E::pause, {{{A::gate_pause}, {A::send_pause}, {A::status_paused}}}, S::paused},
    {S::active,
     E::law_change,
     {{{A::gate_pause},
       {A::send_pause, "codec-change"},
       {A::status_paused, "codec-change"},
       {A::set_codec},
       {A::send_resume},
       {A::gate_resume},
       {A::status_resumed}}},
     S::active},
    {S::active, E::call_ended, stop_by_bye, S::stopped},

    // ---- paused: START sent, no frames ----
    {S::paused, E::start, {{rej(reason::invalid_start)}}, S::paused},
    {S::paused, E::start_unsupported_flow, {{rej(reason::invalid_start)}}, S::paused},
    {S::paused, E::start_codec_unsupported, {{rej(reason::invalid_start)}}, S::paused},
    {S::paused, E::stop, stop_by_request, S::stopped},
    {S::paused, E::stop_foreign, {{rej(reason::guid_mismatch)}}, S::paused},
    {S::paused, E::update, update_started, S::paused},
    {S::paused, E::update_foreign, {{rej(reason::guid_mismatch)}}, S::paused},
    {S::paused, E::update_other_server, {{rej(reason::unexpected_format)}}, S::paused},
    {S::paused, E::session_ended, stop_by_session, S::stopped},
    {S::paused, E::resume, {{{A::set_codec}, {A::send_resume}, {A::gate_resume}, {A::status_resumed}}}, S::active},
    // The server hears of the new law with the RESUME that ends the pause.
    {S::paused, E::law_change, {{{A::set_codec}}}, S::paused},
    {S::paused, E::call_ended, stop_by_bye, S::stopped},

    // ---- the server's own pause (docs/stream.md, AudioHook): its protocol answered it ----
    {S::active, E::server_pause, {{{A::gate_pause}, {A::status_paused, "server"}}}, S::paused},
    // Only when nothing of the call's keeps it paused (the controller checks).
    {S::paused, E::server_resume, {{{A::gate_resume}, {A::status_resumed}}}, S::active},

    // ---- a lost connection being reconnected (docs/controller.md, Continuity) ----
    // The tee goes on: the stream layer keeps the audio and replays it. A
    // fork already paused by the call or the server says nothing of it.
    {S::active, E::connection_lost, {{{A::status_paused, "connection-lost"}}}, S::active},
    {S::active, E::connection_back, {{{A::status_resumed}}}, S::active},
};

}  // namespace

const Row* find_row(State from, Event event) {
    auto it = std::find_if(std::begin(rows), std::end(rows),
                           [&](const Row& r) { return r.from == from && r.event == event; });
    return it == std::end(rows) ? nullptr : &*it;
}

std::span<const Row> table() {
    return rows;
}

std::string_view to_string(State state) {
    switch (state) {
        case State::idle:
            return "idle";
        case State::connecting:
            return "connecting";
        case State::active:
            return "active";
        case State::paused:
            return "paused";
        case State::stopped:
            return "stopped";
    }
    return "?";
}

std::string_view to_string(Event event) {
    static constexpr std::string_view names[] = {"start",
                                                 "start_unsupported_flow",
                                                 "start_codec_unsupported",
                                                 "stop",
                                                 "stop_foreign",
                                                 "update",
                                                 "update_foreign",
                                                 "update_other_server",
                                                 "attach_ok",
                                                 "attach_ok_paused",
                                                 "attach_failed",
                                                 "session_ended",
                                                 "pause",
                                                 "resume",
                                                 "law_change",
                                                 "server_pause",
                                                 "server_resume",
                                                 "connection_lost",
                                                 "connection_back",
                                                 "call_ended"};
    static_assert(std::size(names) == event_count);
    return names[static_cast<std::size_t>(event)];
}

}  // namespace voxfork::fork
