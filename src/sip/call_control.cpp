// The call manager as other parts see it: the CallControl face the fork part
// uses (status INFOs on a leg, a call's facts) and the rows of `show call
// active voice brief`. The SIP handling itself is in call_manager.cpp.
#include "call_manager.hpp"

namespace voxfork::sip {

bool CallManager::send_status_info(CallId leg_id, std::string json) {
    auto it = by_leg_.find(leg_id);
    if (it == by_leg_.end()) return false;
    Call& call = *it->second;
    Leg& leg = call.legs[call.legs[0].id == leg_id ? 0 : 1];
    if (call.phase == Phase::ended || !leg.handle || leg.gone) return false;
    // A request that came in the early dialog (after a 180 with a to-tag) is
    // answered by a status too, but no INFO may go there before the dialog is
    // confirmed: it waits for the 2xx (leg B) or the ACK (leg A).
    if (call.phase != Phase::active || !leg.confirmed || !leg.held_status.empty()) {
        leg.held_status.push_back(std::move(json));
        return true;
    }
    leg.infos.push_back(0);
    stack_.info(leg.handle, Body{kForkContentType, std::move(json), {}, false});
    return true;
}

void CallManager::flush_status(Leg& leg) {
    if (!leg.handle || leg.gone) return;
    for (std::string& json : leg.held_status) {
        leg.infos.push_back(0);
        stack_.info(leg.handle, Body{kForkContentType, std::move(json), {}, false});
    }
    leg.held_status.clear();
}

std::optional<CallInfo> CallManager::find_call(CallId leg_id) const {
    auto it = by_leg_.find(leg_id);
    if (it == by_leg_.end() || it->second->phase == Phase::ended) return std::nullopt;
    const Call& call = *it->second;
    CallInfo info;
    info.anchor = call.anchor;
    for (int i = 0; i < 2; ++i) {
        info.legs[i] = {call.legs[i].id, call.legs[i].dial_peer, call.legs[i].sip_call_id, call.legs[i].remote};
    }
    info.caller_number = call.from_user;
    info.caller_name = call.from_display;
    info.called_number = call.called;
    info.confirmed = call.phase == Phase::active;
    info.media = call.media;
    info.relay_session = call.relay;
    return info;
}

std::size_t CallManager::call_count() const {
    std::size_t n = 0;
    for (const auto& [anchor, call] : calls_)
        if (call->phase != Phase::ended) ++n;
    return n;
}

std::string CallManager::state_of(const Call& call) const {
    switch (call.phase) {
        case Phase::routing:
            return "setup";
        case Phase::alerting:
            return "alerting";
        case Phase::active:
            return call.media.hold ? "hold" : "active";
        case Phase::ended:
            break;
    }
    return "ending";
}

std::vector<LegRow> CallManager::rows() const {
    std::vector<LegRow> rows;
    for (const auto& [anchor, call] : calls_) {
        if (call->phase == Phase::ended) continue;
        const std::string fork = seam_->fork_state(anchor);
        for (int i = 0; i < 2; ++i) {
            const Leg& leg = call->legs[i];
            LegRow row;
            row.callid = leg.id;
            row.peer = call->legs[1 - i].id;
            row.anchor = anchor;
            row.latching = leg.latching;
            row.relay_port = relay_.local_rtp_port(call->relay, static_cast<media::Leg>(i));
            row.rtp_signalled = leg.rtp;
            row.rtcp_signalled = leg.rtcp;
            row.rtp_latched = relay_.latched(call->relay, static_cast<media::Leg>(i), false);
            row.rtcp_latched = relay_.latched(call->relay, static_cast<media::Leg>(i), true);
            row.latches = leg.latches;
            row.latch_moves = leg.latch_moves;
            row.dial_peer = leg.dial_peer;
            row.remote = leg.remote;
            row.codec = call->media.codec[i].empty() ? "-" : call->media.codec[i];
            row.state = state_of(*call);
            row.fork = fork;
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

}  // namespace voxfork::sip
