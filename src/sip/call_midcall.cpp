// Requests inside a call's dialog: BYE, CANCEL, re-INVITE, INFO, OPTIONS,
// and the forking requests they carry, handed to the fork part.
#include <spdlog/spdlog.h>

#include "call_manager.hpp"
#include "call_rules.hpp"

namespace voxfork::sip {

void CallManager::in_dialog(Call& call, media::Leg side, const IncomingRequest& r) {
    Leg& leg = call.legs[index(side)];
    Leg& far = call.legs[index(other(side))];
    switch (r.method) {
        case Method::invite:
            return reinvite(call, side, r);
        case Method::ack:
            leg.confirmed = true;
            if (call.phase == Phase::active) flush_status(leg);
            return;
        case Method::bye:
            spdlog::info("sip: call {}: BYE on callid {}{}", call.anchor, leg.id, log_fields(call));
            leg.confirmed = false;
            if (far.handle && !far.gone) {
                if (far.confirmed || (side == media::Leg::b && call.phase == Phase::active)) {
                    stack_.bye(far.handle);
                } else if (far.pending_invite) {
                    stack_.respond(far.pending_invite, 487, "Request Terminated", nullptr);
                    far.pending_invite = 0;
                } else if (far.invite_outstanding) {
                    stack_.cancel(far.handle);
                } else {
                    stack_.bye(far.handle);
                }
            }
            return end_call(call);
        case Method::cancel:
            // The stack has answered the INVITE with 487 already.
            leg.pending_invite = 0;
            if (call.phase == Phase::active) {
                if (far.invite_outstanding) stack_.cancel(far.handle);
                return;
            }
            spdlog::info("sip: call {}: CANCEL{}", call.anchor, log_fields(call));
            if (far.handle && far.invite_outstanding) stack_.cancel(far.handle);
            if (!far.handle) far.gone = true;
            ++counters_.calls_failed;
            return end_call(call);
        case Method::info:
            return info(call, side, r);
        case Method::options:
            stack_.respond(r.request, 200, "OK", nullptr);
            return;
        default:
            if (r.request) stack_.respond(r.request, 501, "Not Implemented", nullptr);
    }
}

void CallManager::hand_fork_request(Call& call, media::Leg side, const IncomingRequest& r, Carrier carrier,
                                    const std::string& json) {
    ++counters_.fork_requests;
    ForkRequest request;
    request.anchor = call.anchor;
    request.leg = call.legs[index(side)].id;
    request.side = side;
    request.carrier = carrier;
    request.json = json;
    request.transaction = r.transaction;
    request.sip_call_id = r.call_id;
    request.json_parts = r.body.count(kForkContentType);
    seam_->on_fork_request(request);
}

void CallManager::reinvite(Call& call, media::Leg side, const IncomingRequest& r) {
    Leg& leg = call.legs[index(side)];
    Leg& far = call.legs[index(other(side))];
    if (call.phase != Phase::active) {
        stack_.respond(r.request, 500, "Server Internal Error", nullptr);
        return;
    }
    if (call.offer_from || leg.invite_outstanding || far.invite_outstanding || far.pending_invite)
        return reject(r, 491, "Request Pending", counters_.glare);
    if (r.body.malformed) return reject(r, 400, "Malformed Body", counters_.rejected_malformed);
    // Refused, the dialog keeps its old remote target: the call goes on.
    if (unusable_contact(r)) return reject(r, 400, "Bad Contact", counters_.rejected_malformed);
    const std::string* sdp_text = sdp_of(r.body);
    sdp::Session offer;
    if (sdp_text) {
        std::string error;
        auto parsed = sdp::parse(*sdp_text, &error);
        if (!parsed) return reject(r, 400, "Bad SDP", counters_.rejected_malformed);
        offer = std::move(*parsed);
        sdp::Media* audio = sdp::audio(offer);
        if (auto why = stream_problem(offer, audio, relay_.address(net::Family::v6).has_value(), leg.family)) return refuse_offer(r, *why);
        if (auto why = filter_problem(*audio, {leg.codec, far.codec})) return refuse_offer(r, *why);
    }
    if (const std::string* json = r.body.find(kForkContentType))
        hand_fork_request(call, side, r, Carrier::reinvite, *json);
    if (!sdp_text) {
        // A refresh without an offer: our last SDP on this leg is the answer.
        Body body = sdp_body(leg.last_sdp);
        stack_.respond(r.request, 200, "OK", &body);
        return;
    }
    ++counters_.reinvites_relayed;
    const sdp::Media* audio = sdp::audio(offer);
    call.offer_from = side;
    call.offer_hold = sdp::is_hold(offer, *audio);
    call.offer_srtp = sdp::is_srtp(*audio);
    leg.pending_invite = r.request;
    leg.old_rtp = leg.rtp;
    leg.old_rtcp = leg.rtcp;
    set_remote(call, side, offer);
    far.invite_outstanding = true;
    stack_.reinvite(far.handle, sdp_body(anchored(call, other(side), std::move(offer))));
}

void CallManager::info(Call& call, media::Leg side, const IncomingRequest& r) {
    Leg& far = call.legs[index(other(side))];
    if (r.body.content_type == kForkContentType) {
        // Answered at once; whatever the fork part makes of it comes as status INFO later.
        stack_.respond(r.request, 200, "OK", nullptr);
        hand_fork_request(call, side, r, Carrier::info, r.body.text);
        return;
    }
    if (call.phase != Phase::active || !far.handle || far.gone) {
        stack_.respond(r.request, 481, "Call/Transaction Does Not Exist", nullptr);
        return;
    }
    ++counters_.infos_relayed;
    far.infos.push_back(r.request);
    stack_.info(far.handle, r.body);
}

}  // namespace voxfork::sip
