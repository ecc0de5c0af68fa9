// Carries out the steps of a state-table row. Each step does one thing; the
// order within a row is the order on the wire.
#include <utility>

#include <spdlog/spdlog.h>

#include "controller_impl.hpp"
#include "messages.hpp"
#include "render.hpp"

namespace voxfork::fork {
namespace {

std::string_view pick(std::string_view step_reason, std::string_view event_reason) {
    return step_reason.empty() ? event_reason : step_reason;
}

}  // namespace

void Controller::Impl::run(CallId anchor, CallRecord& record, Event event, const Context& ctx) {
    const Row* row = find_row(record.state, event);
    if (row == nullptr) return;  // ignored in this state
    for (const Step& s : row->steps) {
        if (s.act != Act::none) step(anchor, record, s, ctx);
    }
    record.state = row->to;
}

void Controller::Impl::trace(CallId anchor, const CallRecord& record, std::string_view text,
                             const std::optional<std::string>& guid) {
    std::string_view call_guid = record.fork ? std::string_view(record.fork->guid) : std::string_view();
    if (call_guid.empty() && guid) call_guid = *guid;
    env_.trace_call(ops::CallRef{anchor, record.sip_call_id, call_guid}, text);
}

void Controller::Impl::reject(CallId anchor, const call::ForkRequest& request, const std::optional<std::string>& guid,
                              std::string_view why) {
    env_.trace_call(ops::CallRef{anchor, request.sip_call_id, guid ? std::string_view(*guid) : std::string_view()},
                    trace_text::rejected(why));
    if (!calls_.send_status(request.leg, status::error(guid, why))) {
        spdlog::debug("fork: no dialog on leg {} for ERROR {}", request.leg, why);
    }
}

void Controller::Impl::status(CallId, const CallRecord& record, const Context& ctx, std::string body) {
    CallId leg = 0;
    if (ctx.request != nullptr)
        leg = ctx.request->leg;
    else if (record.fork)
        leg = record.fork->start_leg;
    if (leg == 0 || !calls_.send_status(leg, std::move(body))) spdlog::debug("fork: status not sent on leg {}", leg);
}

void Controller::Impl::begin(CallId anchor, CallRecord& record, const Context& ctx) {
    const ForkRequest& fr = *ctx.parsed;
    const call::ForkRequest& req = *ctx.request;
    const auto facts = calls_.call_facts(anchor);
    Fork fork;
    fork.session_id = next_session_++;
    fork.guid = fr.call_guid;
    const auto side = static_cast<std::size_t>(req.side);
    // The profile of the leg the request came on, else the other leg's.
    const std::uint32_t profile =
        facts ? (facts->profile_tag[side] != 0 ? facts->profile_tag[side] : facts->profile_tag[1 - side]) : 0;
    fork.target = {*fr.host, *fr.port, fr.secure.value_or(true), fr.path.value_or("/"), fr.token.value_or(""), profile};
    fork.metadata = fr.metadata.value_or(nlohmann::json::object());
    fork.pinned = fr.codec;
    fork.codec = fr.codec ? *fr.codec : call_g711(record.media).value_or(G711::ulaw);
    fork.start_leg = req.leg;
    fork.side = req.side;
    fork.sip_call_id = req.sip_call_id;
    fork.relay_session = facts ? facts->relay_session : 0;
    if (facts) {
        fork.caller_number = facts->caller_number;
        fork.caller_name = facts->caller_name;
        fork.called_number = facts->called_number;
    }
    record.fork = std::move(fork);
    Fork& f = *record.fork;
    f.session = streams_.open(f.target, stream::CallInfo{anchor, f.session_id, f.guid, f.sip_call_id, f.metadata,
                                                         f.caller_number, f.caller_name, f.called_number});
    by_session_[f.session] = anchor;
}

void Controller::Impl::make_tee(Fork& fork, const MediaState& media) {
    Tee::Setup setup;
    setup.sink = fork.audio.get();
    setup.start_ns = env_.monotonic_ns();
    setup.audio_pt[0] = audio_pt(fork, media, media::Direction::caller);
    setup.audio_pt[1] = audio_pt(fork, media, media::Direction::callee);
    setup.dtmf_pt[0] = media.telephone_event_pt[0];
    setup.dtmf_pt[1] = media.telephone_event_pt[1];
    setup.dtmf_queued = &dtmf_queued_;
    fork.tee = std::make_unique<Tee>(setup, &totals);
}

void Controller::Impl::tap(Fork& fork, bool on) {
    if (!fork.tee || fork.relay_session == 0) return;
    media::TapSink* sink = on ? fork.tee.get() : nullptr;
    taps_.set_tap(fork.relay_session, media::Direction::caller, sink);
    taps_.set_tap(fork.relay_session, media::Direction::callee, sink);
}

void Controller::Impl::step(CallId anchor, CallRecord& record, const Step& s, const Context& ctx) {
    // Every step but reject, lock_carrier and attach acts on the call's fork.
    switch (s.act) {
        case Act::none:
            return;
        case Act::reject:
            return reject(anchor, *ctx.request, ctx.guid, s.reason);
        case Act::lock_carrier:
            if (!record.carrier) record.carrier = ctx.request->carrier;
            return;
        case Act::attach:
            return begin(anchor, record, ctx);
        default:
            break;
    }
    if (!record.fork) return;
    Fork& fork = *record.fork;
    switch (s.act) {
        case Act::abandon:
        case Act::detach:
            return drop_session(fork);
        case Act::send_start:
            make_tee(fork, record.media);
            return streams_.start(fork.session, fork.codec, fork.metadata);
        case Act::send_pause:
            fork.call_pause_told = true;
            return streams_.pause(fork.session, pick(s.reason, ctx.reason));
        case Act::send_resume:
            fork.call_pause_told = false;
            return streams_.resume(fork.session, fork.codec);
        case Act::send_update:
            fork.update_confirmation_due = streams_.update(fork.session, fork.metadata);
            return;
        case Act::send_stop:
            return streams_.stop(fork.session, s.reason);
        case Act::set_metadata:
            if (ctx.parsed && ctx.parsed->metadata) fork.metadata = *ctx.parsed->metadata;
            return;
        case Act::defer_update:
            if (ctx.parsed && ctx.parsed->metadata && ctx.request)
                fork.deferred_updates.emplace_back(*ctx.parsed->metadata, ctx.request->leg);
            return;
        case Act::flush_updates:
            return flush_updates(anchor, fork);
        case Act::set_codec:
            if (fork.pinned)
                fork.codec = *fork.pinned;
            else if (auto codec = call_g711(record.media))
                fork.codec = *codec;
            if (fork.tee) {
                for (const auto d : {media::Direction::caller, media::Direction::callee})
                    fork.tee->set_audio_pt(d, audio_pt(fork, record.media, d));
            }
            return;
        case Act::gate_pause:
            if (fork.tee) fork.tee->pause();
            return;
        case Act::gate_resume:
            if (fork.tee) fork.tee->resume();
            return;
        case Act::tap_on:
            return tap(fork, true);
        case Act::tap_off:
            return tap(fork, false);
        case Act::licence_enhanced:
            record.ever_started = true;
            return licensing.fork_started(anchor);
        case Act::count_started:
            return streams_.fork_started();
        case Act::count_failed:
            return streams_.fork_failed();
        case Act::count_ended:
            return streams_.fork_ended();
        case Act::status_started:
            trace(anchor, record, trace_text::initiated, ctx.guid);
            return status(anchor, record, ctx,
                          status::started(ctx.guid, fork.connection_id, fork.channel[0], fork.channel[1]));
        case Act::status_paused: {
            const auto why = pick(s.reason, ctx.reason);
            trace(anchor, record, trace_text::paused(why), ctx.guid);
            return status(anchor, record, ctx, status::paused(ctx.guid, why));
        }
        case Act::status_resumed:
            trace(anchor, record, trace_text::resumed, ctx.guid);
            return status(anchor, record, ctx, status::resumed(ctx.guid, fork.codec));
        case Act::status_updated:
            if (std::exchange(fork.update_confirmation_due, false)) {
                fork.updates_awaiting_server.push_back(ctx.request != nullptr ? ctx.request->leg : fork.start_leg);
                return;
            }
            trace(anchor, record, trace_text::updated, ctx.guid);
            return status(anchor, record, ctx, status::updated(ctx.guid));
        case Act::status_stopped: {
            const auto why = pick(s.reason, ctx.reason);
            trace(anchor, record, trace_text::stopped(why), ctx.guid);
            return status(anchor, record, ctx, status::stopped(ctx.guid, why));
        }
        case Act::status_error:
            trace(anchor, record, trace_text::failed(ctx.reason), ctx.guid);
            return status(anchor, record, ctx, status::error(ctx.guid, ctx.reason));
        case Act::trace_stopped:
            return trace(anchor, record, trace_text::stopped(s.reason), ctx.guid);
        default:
            return;
    }
}

// In the order they came, as if each arrived once the fork had started.
void Controller::Impl::flush_updates(CallId anchor, Fork& fork) {
    for (auto& [metadata, leg] : std::exchange(fork.deferred_updates, {})) {
        fork.metadata = std::move(metadata);
        if (streams_.update(fork.session, fork.metadata))
            fork.updates_awaiting_server.push_back(leg);
        else
            updated_status(anchor, fork, leg);
    }
}

void Controller::Impl::updated_status(CallId anchor, Fork& fork, CallId leg) {
    env_.trace_call(ops::CallRef{anchor, fork.sip_call_id, fork.guid}, trace_text::updated);
    if (!calls_.send_status(leg, status::updated(fork.guid))) spdlog::debug("fork: status not sent on leg {}", leg);
}

namespace {
// What the tee forked in one direction: the dataplane's own count, the same
// the global counters add up.
DataplaneTotals tee_counts(const Fork& fork, std::size_t direction) {
    if (!fork.tee) return {};
    const auto& c = fork.tee->counters(static_cast<media::Direction>(direction));
    return {c.frames.load(std::memory_order_relaxed), c.bytes.load(std::memory_order_relaxed),
            c.dropped.load(std::memory_order_relaxed)};
}
}  // namespace

ChannelView Controller::Impl::channel_view(const Fork& fork, std::size_t i) const {
    const DataplaneTotals tee = tee_counts(fork, i);
    ChannelView v{fork.channel[i], tee.packets_forked, tee.bytes_forked, tee.frames_dropped};
    // A frame the tee handed over may still be dropped on its way out: sent
    // is what was written, dropped is both kinds of drop.
    std::optional<stream::Delivery> d = fork.delivered[i];
    if (fork.session != 0 && v.id != 0) d = streams_.delivered(fork.session, static_cast<media::Direction>(i));
    if (d) {
        v.frames = d->frames_sent;
        v.bytes = d->bytes_sent;
        v.dropped = tee.frames_dropped + d->frames_dropped;
    }
    return v;
}

std::string_view shown_state(const CallRecord& record) {
    if (record.state == State::idle) return "stopped";
    if (record.state == State::active && record.fork && record.fork->connection_lost) return "paused";
    return to_string(record.state);
}

std::optional<CallView> Controller::Impl::view(CallId anchor) const {
    auto it = records_.find(anchor);
    if (it == records_.end() || !it->second.fork) return std::nullopt;
    const CallRecord& r = it->second;
    const Fork& f = *r.fork;
    CallView v;
    v.anchor = anchor;
    v.call_guid = f.guid;
    v.state = shown_state(r);
    v.codec = std::string(codec_name(f.codec));
    v.connection_id = f.connection_id;
    for (std::size_t i = 0; i < 2; ++i) v.channel[i] = channel_view(f, i);
    v.metadata = f.metadata;
    if (f.session != 0) v.server = streams_.describe(f.session).value_or(stream::Description{});
    else if (f.description) v.server = *f.description;
    return v;
}

std::vector<SessionView> Controller::Impl::sessions() const {
    std::vector<SessionView> sessions;
    for (const auto& [anchor, r] : records_) {
        if (!r.fork || !r.fork->tee) continue;
        SessionView s;
        s.session_id = r.fork->session_id;
        s.anchor = anchor;
        s.state = shown_state(r);
        // Dataplane counters, as the global ones (docs/forking.md "Operator output"): what the
        // tee forked, not what the connection wrote (that is callid's).
        for (std::size_t i = 0; i < 2; ++i) s.direction[i] = tee_counts(*r.fork, i);
        sessions.push_back(s);
    }
    return sessions;
}

}  // namespace voxfork::fork
