// Turns what happens to a call (requests, attach results, media changes, BYE,
// connection events) into state-table events. The guards here are docs/controller.md's
// validation steps in their order; what each event then does is the table's.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "controller_impl.hpp"
#include "messages.hpp"
#include "render.hpp"
#include "voxfork/ops.hpp"

namespace voxfork::fork {
namespace {

constexpr std::size_t remembered_transactions = 32;

bool fork_exists(State s) {
    return s == State::connecting || s == State::active || s == State::paused;
}
bool fork_started(State s) {
    return s == State::active || s == State::paused;
}

}  // namespace

std::optional<G711> call_g711(const MediaState& media) {
    // Both streams carry the same codec after an offer/answer; a stream on hold
    // may report none, so the first one known decides.
    for (const auto& codec : media.codec) {
        if (!codec.empty()) return g711_from_name(codec);
    }
    return std::nullopt;
}

int audio_pt(const Fork& fork, const MediaState& media, media::Direction direction) {
    const int pt = media.codec_pt[static_cast<std::size_t>(direction)];
    return pt >= 0 && call_g711(media) == fork.codec ? pt : payload_type(fork.codec);
}

std::optional<std::string_view> pause_reason(const Fork& fork, const MediaState& media) {
    if (media.hold) return "hold";
    const auto codec = call_g711(media);
    if (!codec || (fork.pinned && *fork.pinned != *codec)) return "codec-change";
    return std::nullopt;
}

Controller::Impl::Impl(CallPort& calls, stream::Service& streams, TapControl& taps, Environment env)
    : licensing(env.log_info, env.license_interval_seconds, env.utc_now()),
      calls_(calls),
      streams_(streams),
      taps_(taps),
      env_(std::move(env)) {}

// The relay and the stream layer may outlive the controller: no tap may
// point at a tee that goes, and no session may report back to it.
Controller::Impl::~Impl() {
    for (auto& [anchor, record] : records_) {
        if (!record.fork) continue;
        if (fork_started(record.state)) tap(*record.fork, false);
        if (record.fork->session != 0) streams_.close(record.fork->session);
    }
}

CallRecord* Controller::Impl::find(CallId anchor) {
    auto it = records_.find(anchor);
    return it == records_.end() ? nullptr : &it->second;
}

CallRecord* Controller::Impl::find_by_session(stream::SessionHandle session, CallId& anchor) {
    auto it = by_session_.find(session);
    if (it == by_session_.end()) return nullptr;
    anchor = it->second;
    CallRecord* record = find(anchor);
    if (record == nullptr || !record->fork || record->fork->session != session) return nullptr;
    return record;
}

void Controller::Impl::drop_session(Fork& fork) {
    if (fork.session == 0) return;
    // The counts go with the session: keep them for the show commands.
    for (const auto d : {media::Direction::caller, media::Direction::callee}) {
        const auto i = static_cast<std::size_t>(d);
        if (fork.channel[i] != 0) fork.delivered[i] = streams_.delivered(fork.session, d);
    }
    fork.description = streams_.describe(fork.session);
    streams_.close(fork.session);
    by_session_.erase(fork.session);
    fork.session = 0;
}

bool Controller::Impl::seen_before(CallRecord& record, const std::string& transaction) {
    if (transaction.empty()) return false;
    auto& seen = record.transactions;
    if (std::find(seen.begin(), seen.end(), transaction) != seen.end()) return true;
    seen.push_back(transaction);
    if (seen.size() > remembered_transactions) seen.pop_front();
    return false;
}

void Controller::Impl::on_request(const call::ForkRequest& request) {
    CallRecord& record = records_[request.anchor];
    if (seen_before(record, request.transaction)) return;

    if (!request.sip_call_id.empty()) record.sip_call_id = request.sip_call_id;
    const ParseResult parsed = parse_request(request.json);
    trace(request.anchor, record, trace_text::request(parsed.action ? to_string(*parsed.action) : "UNKNOWN"),
          parsed.call_guid);
    if (!parsed.request) return reject(request.anchor, request, parsed.call_guid, parsed.error);
    // A carrier with two requests in it says two things at once: act on neither.
    if (request.json_parts > 1) return reject(request.anchor, request, parsed.call_guid, reason::unexpected_format);
    const ForkRequest& fr = *parsed.request;
    // The carrier lock is checked once the body is known to be a request at all.
    if (record.carrier && *record.carrier != request.carrier) {
        return reject(request.anchor, request, parsed.call_guid, reason::method_not_supported);
    }

    Context ctx;
    ctx.request = &request;
    ctx.parsed = &fr;
    ctx.guid = parsed.call_guid;
    const bool exists = fork_exists(record.state);
    Event event = Event::start;
    switch (fr.action) {
        case Action::start: {
            if (exists) break;  // the table answers Invalid Start before flow or codec
            const auto facts = calls_.call_facts(request.anchor);
            if (!facts || !facts->confirmed) return reject(request.anchor, request, ctx.guid, reason::internal_error);
            record.media = facts->media;
            const auto side = static_cast<std::size_t>(request.side);
            const bool enabled = facts->profile_tag[side] != 0 || facts->profile_tag[1 - side] != 0;
            if (!enabled || facts->media.srtp)
                event = Event::start_unsupported_flow;
            else if (!call_g711(facts->media))
                event = Event::start_codec_unsupported;
            break;
        }
        case Action::stop:
            event = exists && fr.call_guid != record.fork->guid ? Event::stop_foreign : Event::stop;
            break;
        case Action::update:
            if (exists && !update_matches_start(fr, record.fork->target))
                event = Event::update_other_server;
            else if (exists && fr.call_guid != record.fork->guid)
                event = Event::update_foreign;
            else
                event = Event::update;
            break;
    }
    run(request.anchor, record, event, ctx);
}

void Controller::Impl::on_established(stream::SessionHandle session, const stream::Established& established) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    if (record == nullptr || record->state != State::connecting) return;
    Fork& fork = *record->fork;
    Context ctx;
    ctx.guid = fork.guid;
    if (established.channel[0] == 0 || established.channel[1] == 0 || !established.audio) {
        // An answer without two channels and a sink cannot be forked.
        ctx.reason = reason::internal_error;
        drop_session(fork);
        return run(anchor, *record, Event::attach_failed, ctx);
    }
    fork.connection_id = established.connection_id;
    fork.channel[0] = established.channel[0];
    fork.channel[1] = established.channel[1];
    fork.audio = established.audio;
    // An unpinned fork starts with the law the call has now.
    if (!fork.pinned) {
        if (auto codec = call_g711(record->media)) fork.codec = *codec;
    }
    const auto why = pause_reason(fork, record->media);
    ctx.reason = why.value_or("");
    run(anchor, *record, why ? Event::attach_ok_paused : Event::attach_ok, ctx);
}

void Controller::Impl::on_failed(stream::SessionHandle session, std::string_view why) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    if (record == nullptr || record->state != State::connecting) return;
    // The session is gone: only forget it.
    by_session_.erase(session);
    record->fork->session = 0;
    Context ctx;
    ctx.guid = record->fork->guid;
    ctx.reason = why;
    run(anchor, *record, Event::attach_failed, ctx);
}

void Controller::Impl::on_media_changed(CallId anchor, const MediaState& media) {
    licensing.call_started(anchor);
    CallRecord& record = records_[anchor];
    record.media = media;
    if (!record.fork) return;
    Fork& fork = *record.fork;
    if (fork.tee) {
        for (const auto d : {media::Direction::caller, media::Direction::callee}) {
            fork.tee->set_audio_pt(d, audio_pt(fork, media, d));
            fork.tee->set_dtmf_pt(d, media.telephone_event_pt[static_cast<std::size_t>(d)]);
        }
    }
    if (!fork_started(record.state)) return;
    Context ctx;
    ctx.guid = fork.guid;
    if (const auto why = pause_reason(fork, media)) {
        // Paused by the server when the call found a reason of its own: the
        // session hears of it, so the server's resume does not restart the audio.
        if (record.state == State::paused && fork.server_paused && !fork.call_pause_told) {
            fork.call_pause_told = true;
            streams_.pause(fork.session, *why);
        }
        ctx.reason = *why;
        return run(anchor, record, Event::pause, ctx);
    }
    // The server's own pause outlasts the call's reason for one.
    if (record.state == State::paused && !fork.server_paused) return run(anchor, record, Event::resume, ctx);
    if (record.state == State::paused) return;
    if (!fork.pinned && call_g711(media) != fork.codec) run(anchor, record, Event::law_change, ctx);
}

void Controller::Impl::on_call_ended(CallId anchor) {
    if (CallRecord* record = find(anchor)) {
        Context ctx;
        if (record->fork) ctx.guid = record->fork->guid;
        run(anchor, *record, Event::call_ended, ctx);
        if (record->fork) drop_session(*record->fork);  // the rows detached already; this is a safety net
        records_.erase(anchor);
    }
    licensing.call_ended(anchor);
}

void Controller::Impl::on_ended(stream::SessionHandle session, std::string_view why) {
    Context ctx;
    ctx.reason = why;
    run_for_session(session, Event::session_ended, ctx);
}

void Controller::Impl::on_paused_by_server(stream::SessionHandle session) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    if (record == nullptr) return;
    record->fork->server_paused = true;
    // Already paused by the call: the pause goes on, for one more reason.
    run_for_session(session, Event::server_pause, {});
}

void Controller::Impl::on_resumed_by_server(stream::SessionHandle session) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    if (record == nullptr || !record->fork->server_paused) return;
    record->fork->server_paused = false;
    // Still on hold, or on another codec: the call's own resume ends it.
    if (pause_reason(*record->fork, record->media)) return;
    run_for_session(session, Event::server_resume, {});
}

void Controller::Impl::on_interrupted(stream::SessionHandle session) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    // A fork paused by the call or the server already told its pause.
    if (record == nullptr || record->state != State::active) return;
    record->fork->connection_lost = true;
    run_for_session(session, Event::connection_lost, {});
}

void Controller::Impl::on_restored(stream::SessionHandle session) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    if (record == nullptr || !std::exchange(record->fork->connection_lost, false)) return;
    run_for_session(session, Event::connection_back, {});
}

void Controller::Impl::on_updated(stream::SessionHandle session) {
    CallId anchor = 0;
    CallRecord* record = find_by_session(session, anchor);
    if (record == nullptr || record->fork->updates_awaiting_server.empty()) return;
    const CallId leg = record->fork->updates_awaiting_server.front();
    record->fork->updates_awaiting_server.pop_front();
    updated_status(anchor, *record->fork, leg);
}

// A stream event reaches the call holding `session`, if it still does.
void Controller::Impl::run_for_session(stream::SessionHandle session, Event event, Context ctx) {
    CallId anchor = 0;
    if (CallRecord* record = find_by_session(session, anchor)) {
        ctx.guid = record->fork->guid;
        run(anchor, *record, event, ctx);
    }
}

void Controller::Impl::poll() {
    // Read before the walk: an event queued during it is counted after this
    // value, so the next poll walks again.
    const std::uint64_t queued = dtmf_queued_.load(std::memory_order_acquire);
    if (queued != dtmf_seen_) {
        dtmf_seen_ = queued;
        for (auto& [anchor, record] : records_) {
            if (!record.fork || !record.fork->tee) continue;
            Fork& fork = *record.fork;
            DtmfEvent e;
            while (fork.tee->pop_dtmf(e)) {
                if (record.state == State::active) streams_.dtmf(fork.session, e.direction, e.digit, e.duration);
            }
        }
    }
    licensing.poll(env_.utc_now());
}

std::string Controller::Impl::fork_state(CallId anchor) const {
    auto it = records_.find(anchor);
    if (it == records_.end()) return "none";
    const CallRecord& r = it->second;
    // `stopped` means forked earlier in this call: a START that never went out does not count.
    if (r.state == State::idle || r.state == State::stopped) return r.ever_started ? "stopped" : "none";
    return std::string(shown_state(r));
}

// ---- Controller: the public face forwards to Impl ----

Controller::Controller(CallPort& calls, stream::Service& streams, TapControl& taps, Environment environment)
    : impl_(std::make_unique<Impl>(calls, streams, taps, std::move(environment))) {}
Controller::~Controller() = default;

void Controller::on_fork_request(const call::ForkRequest& request) {
    impl_->on_request(request);
}
void Controller::on_media_changed(CallId anchor, const MediaState& media) {
    impl_->on_media_changed(anchor, media);
}
void Controller::on_call_ended(CallId anchor) {
    impl_->on_call_ended(anchor);
}
std::string Controller::fork_state(CallId anchor) const {
    return impl_->fork_state(anchor);
}
std::string Controller::call_guid(CallId anchor) const {
    const auto& records = impl_->records();
    const auto it = records.find(anchor);
    return it != records.end() && it->second.fork ? it->second.fork->guid : std::string();
}
void Controller::on_established(stream::SessionHandle session, const stream::Established& established) {
    impl_->on_established(session, established);
}
void Controller::on_failed(stream::SessionHandle session, std::string_view reason) {
    impl_->on_failed(session, reason);
}
void Controller::on_paused_by_server(stream::SessionHandle session) {
    impl_->on_paused_by_server(session);
}
void Controller::on_resumed_by_server(stream::SessionHandle session) {
    impl_->on_resumed_by_server(session);
}
void Controller::on_interrupted(stream::SessionHandle session) {
    impl_->on_interrupted(session);
}
void Controller::on_restored(stream::SessionHandle session) {
    impl_->on_restored(session);
}
void Controller::on_updated(stream::SessionHandle session) {
    impl_->on_updated(session);
}
void Controller::on_ended(stream::SessionHandle session, const stream::Ending& ending) {
    if (ending.by_server) {
        CallId anchor = 0;
        const CallRecord* record = impl_->find_by_session(session, anchor);
        const Fork* fork = record ? &*record->fork : nullptr;
        spdlog::info("fork: call {}: the speech server ended session {} ({}){}", anchor, session, ending.server_words,
                     fork ? ops::call_fields({anchor, fork->sip_call_id, fork->guid}) : std::string());
    }
    impl_->on_ended(session, ending.reason);
}
void Controller::poll() {
    impl_->poll();
}
void Controller::set_license_interval(int seconds) {
    impl_->licensing.set_interval(seconds);
}
std::string Controller::license_table() const {
    return impl_->licensing.table();
}

std::optional<std::string> Controller::show_call(CallId anchor) const {
    auto v = impl_->view(anchor);
    if (!v) return std::nullopt;
    return render_call(*v);
}

nlohmann::json Controller::show_call_json(CallId anchor) const {
    auto v = impl_->view(anchor);
    return v ? render_call_json(*v) : nlohmann::json();
}

std::string Controller::show_sessions() const {
    return render_sessions(impl_->sessions());
}

nlohmann::json Controller::show_sessions_json() const {
    return render_sessions_json(impl_->sessions());
}

nlohmann::json Controller::license_table_json() const {
    return impl_->licensing.table_json();
}

LiveCounts Controller::live_counts() const {
    LiveCounts counts;
    for (const auto& [anchor, record] : impl_->records()) {
        const std::string state = impl_->fork_state(anchor);
        counts.forks_connecting += state == "connecting";
        counts.forks_active += state == "active";
        counts.forks_paused += state == "paused";
        counts.forks_stopped += state == "stopped";
    }
    counts.standard_calls = impl_->licensing.standard();
    counts.enhanced_calls = impl_->licensing.enhanced();
    counts.aggregate_calls = impl_->licensing.aggregate();
    return counts;
}

DataplaneTotals Controller::totals(media::Direction direction) const {
    const auto& c = impl_->totals.direction[static_cast<std::size_t>(direction)];
    return {c.frames.load(std::memory_order_relaxed), c.bytes.load(std::memory_order_relaxed),
            c.dropped.load(std::memory_order_relaxed)};
}

Environment Environment::standard(int license_interval_seconds) {
    Environment env;
    env.monotonic_ns = [] {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    env.utc_now = [] { return std::chrono::system_clock::now(); };
    env.trace_call = [](const ops::CallRef& call, std::string_view text) { ops::trace_call(call, text); };
    env.log_info = [](std::string_view text) { spdlog::info("{}", text); };
    env.license_interval_seconds = license_interval_seconds;
    return env;
}

}  // namespace voxfork::fork
