// The seam between the B2BUA and the fork part, declared once for both: what
// the SIP side hands over about a call (forking requests, its media after each
// offer/answer, its end) and what it asks back (the Fork column). The sip part
// calls a ForkSeam; the fork part's Controller is one.
#pragma once

#include <cstdint>
#include <string>

#include "voxfork/media.hpp"

namespace voxfork::call {

// The operator's call number of one leg (CUBE style, increasing from 1). A
// call's inbound leg is its anchor leg; the anchor's id names the call.
using CallId = std::uint64_t;

enum class Carrier { info, reinvite };

// A forking request as it arrived; the B2BUA has already answered an INFO
// with 200 and relays a re-INVITE's SDP on its own.
struct ForkRequest {
    CallId anchor = 0;  // the call
    CallId leg = 0;     // the leg it came on: status INFOs go there
    media::Leg side = media::Leg::a;
    Carrier carrier = Carrier::info;
    std::string json;            // the application/x-cisco-record+json body
    std::string transaction;     // same value for a retransmission of one SIP transaction
    std::string sip_call_id;     // Call-ID of that leg (the START's `call-id`)
    std::size_t json_parts = 1;  // JSON parts the carrier held: more than one is refused
};

// The media of a call after a completed offer/answer.
struct MediaState {
    // The codec each stream carries (indexed by media::Direction): a config
    // codec name ("g711ulaw") or the lower-cased encoding of another one;
    // empty when unknown.
    std::string codec[2];
    // Payload type each stream carries its codec on (G.711 may come on a
    // dynamic one); -1: unknown, the static type of the codec then.
    int codec_pt[2] = {-1, -1};
    // Payload type of telephone-event each stream uses; -1: none.
    int telephone_event_pt[2] = {-1, -1};
    bool hold = false;
    bool srtp = false;
};

class ForkSeam {
public:
    virtual ~ForkSeam() = default;
    virtual void on_fork_request(const ForkRequest& request) = 0;
    // After every completed offer/answer (initial and re-INVITEs); the first
    // makes the call a licensed one.
    virtual void on_media_changed(CallId anchor, const MediaState& media) = 0;
    // The call is gone (BYE, CANCEL, failure); no INFO can be sent any more.
    virtual void on_call_ended(CallId anchor) = 0;
    // `none`, `connecting`, `active`, `paused` or `stopped`, for the Fork column.
    virtual std::string fork_state(CallId anchor) const = 0;
    // The controller's call-guid of the call's fork, for the SIP part's log
    // lines; empty while the call has none.
    virtual std::string call_guid(CallId) const { return {}; }
};

}  // namespace voxfork::call
