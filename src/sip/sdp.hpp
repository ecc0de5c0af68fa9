// SDP as the B2BUA needs it: parse a body, look at its audio stream, rewrite
// it so that media goes through the relay, print it back. Pure functions on
// values; nothing here knows about SIP or sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voxfork/config.hpp"
#include "voxfork/net.hpp"

namespace voxfork::sip::sdp {

// One `X=value` line, kept verbatim unless a rewrite touches it.
struct Line {
    char type = 0;
    std::string value;
    bool operator==(const Line&) const = default;
};

struct Media {
    std::string type;  // "audio", "video", ...
    std::uint16_t port = 0;
    std::string proto;  // "RTP/AVP", "RTP/SAVP", ...
    std::vector<std::string> formats;
    std::vector<Line> lines;  // everything after the m= line, in order
};

struct Session {
    std::vector<Line> lines;  // session-level lines (v=, o=, s=, c=, t=, a=, ...)
    std::vector<Media> media;
};

// nullopt with `error` set when the text is not an SDP body we can work with.
std::optional<Session> parse(std::string_view text, std::string* error = nullptr);
std::string print(const Session& session);

// A payload format as the offer/answer names it.
struct Format {
    int payload_type = -1;
    std::string encoding;  // as written in rtpmap ("PCMU"), or the static name
    int clock_rate = 0;
    bool known() const { return !encoding.empty(); }
    bool is_telephone_event() const;
};

// The first audio stream with a non-zero port, if any.
const Media* audio(const Session& session);
Media* audio(Session& session);

std::vector<Format> formats(const Media& media);
// The voxfork name of an encoding: "PCMU" -> "g711ulaw", "PCMA" -> "g711alaw",
// "G729" -> "g729", "G722" -> "g722", "opus" -> "opus"; otherwise the lower-cased encoding.
std::string codec_name(const Format& format);
std::optional<config::Codec> to_codec(const Format& format);

// The first real codec of the stream (telephone-event skipped): what a sender
// uses after an answer. nullopt when there is none.
std::optional<Format> first_codec(const Media& media);
// True when at least one format is a codec we can name (static PT or rtpmap),
// not counting telephone-event.
bool has_known_codec(const Media& media);

// Keeps only formats of `codec` plus telephone-event (and their rtpmap/fmtp
// lines). Returns false, leaving the media unchanged, when no format of
// `codec` was present.
bool filter_codec(Media& media, config::Codec codec);
// Keeps only the formats whose payload type appears in `allowed` (answer side:
// the answer must not name a format the offer did not).
void restrict_formats(Media& media, const std::vector<int>& allowed);

enum class Direction { sendrecv, sendonly, recvonly, inactive };
Direction direction(const Session& session, const Media& media);

// Where the stream's remote wants its RTP and RTCP. An unspecified address
// (c=IN IP4 0.0.0.0, c=IN IP6 ::) means on hold. `ok` is false when the
// connection address is not a literal of the family its c= line names
// (`IN IP4 192.0.2.1`, `IN IP6 2001:db8::1`): a name (FQDN) or a mismatch.
struct Remote {
    net::Address address;
    std::uint16_t rtp_port = 0;
    net::Address rtcp_address;
    std::uint16_t rtcp_port = 0;
    bool ok = false;
};
Remote remote(const Session& session, const Media& media);

bool is_hold(const Session& session, const Media& media);
bool is_srtp(const Media& media);

// The o= line state of one leg: our session id is fixed per leg, the version
// goes up by one every time we send that leg an SDP.
struct Origin {
    std::uint64_t session_id = 0;
    std::uint64_t version = 0;
};

// Rewrites the session for sending on one leg: o= is ours (version bumped),
// every c= names `address` with its family (`IN IP4` or `IN IP6`; a hold
// c= stays a hold, spelled in that family: 0.0.0.0 or ::), the audio
// stream's port is `port` (RTCP at port+1, so a=rtcp and ICE lines go), other
// streams are declined with port 0.
void anchor(Session& session, const net::Address& address, std::uint16_t port, Origin& origin);

std::optional<std::uint32_t> parse_ipv4(std::string_view text);

}  // namespace voxfork::sip::sdp
