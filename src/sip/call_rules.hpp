// What a new call (call_manager.cpp, call_leg_b.cpp) and a request inside
// its dialog (call_midcall.cpp) all go by: the legs' pairing, the SDP of a body and
// which offers the relay can anchor at all.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include "call_manager.hpp"

namespace voxfork::sip {

constexpr media::Leg other(media::Leg side) {
    return side == media::Leg::a ? media::Leg::b : media::Leg::a;
}
constexpr int index(media::Leg side) {
    return static_cast<int>(side);
}

// voxforkd's own 503s (relay ports exhausted, shutting down) tell the peer
// when to try again; no other 503 leaves voxforkd (docs/sip.md).
constexpr unsigned kRetryAfterSeconds = 5;

inline Body sdp_body(std::string text) {
    return Body{"application/sdp", std::move(text), {}, false};
}

// The SDP of a message; an empty one (a type with no content) is no offer.
const std::string* sdp_of(const Body& body);

constexpr MediaRefusal kNoOffer{305, "Incompatible media format: no SDP offer"};
constexpr MediaRefusal kNoCommonCodec{305, "Incompatible media format: no common codec"};
constexpr MediaRefusal kAddressFamily{301, "Incompatible network address format: IPv4 only"};
constexpr MediaRefusal kIpv6Only{301, "Incompatible network address format: IPv6 only"};
constexpr MediaRefusal kAddressLiteral{301, "Incompatible network address format: IP address only"};
constexpr MediaRefusal kUnusableAnswer{305, "Incompatible media format: no usable answer from the far end"};

// What keeps an offer's audio stream from being relayed at all; nullopt
// when nothing does. `leg_family`: a re-INVITE's, whose leg keeps its family
// (the relay's ports are bound to it); a new call's leg takes the offer's.
// `relay_ipv6`: the relay has an IPv6 address (media::Relay::address, the
// one in force after a reload); without one it is IPv4 only, and says so.
std::optional<MediaRefusal> stream_problem(const sdp::Session& session, const sdp::Media* audio, bool relay_ipv6,
                                           std::optional<net::Family> leg_family = std::nullopt);

// The family a new call's leg a takes: its offer's (a hold offer's too).
net::Family offer_family(const sdp::Session& session, const sdp::Media& audio);

// Keeps only each dial-peer's codec (and telephone-event); a refusal when nothing is left.
std::optional<MediaRefusal> filter_problem(sdp::Media& audio,
                                           std::initializer_list<std::optional<config::Codec>> filters);

// A Contact we could not send the dialog's requests to.
bool unusable_contact(const IncomingRequest& r);

}  // namespace voxfork::sip
