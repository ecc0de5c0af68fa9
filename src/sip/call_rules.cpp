#include "call_rules.hpp"

namespace voxfork::sip {

const std::string* sdp_of(const Body& body) {
    const std::string* text = body.find("application/sdp");
    return text != nullptr && !text->empty() ? text : nullptr;
}

std::optional<MediaRefusal> stream_problem(const sdp::Session& session, const sdp::Media* audio, bool ipv6,
                                           std::optional<net::Family> leg_family) {
    if (!audio || !sdp::has_known_codec(*audio)) return kNoCommonCodec;
    const sdp::Remote remote = sdp::remote(session, *audio);
    if (!remote.ok) return ipv6 ? kAddressLiteral : kAddressFamily;
    if (remote.address.is_unspecified()) return std::nullopt;  // hold, in either spelling
    const net::Family family = remote.address.family();
    if (leg_family && family != *leg_family) return *leg_family == net::Family::v4 ? kAddressFamily : kIpv6Only;
    if (family == net::Family::v6 && !ipv6) return kAddressFamily;
    return std::nullopt;
}

net::Family offer_family(const sdp::Session& session, const sdp::Media& audio) {
    return sdp::remote(session, audio).address.family();
}

std::optional<MediaRefusal> filter_problem(sdp::Media& audio,
                                           std::initializer_list<std::optional<config::Codec>> filters) {
    for (const auto& codec : filters)
        if (codec && !sdp::filter_codec(audio, *codec)) return kNoCommonCodec;
    return std::nullopt;
}

bool unusable_contact(const IncomingRequest& r) {
    return !r.contact_transport.empty() && r.contact_transport != "udp" && r.contact_transport != "tcp";
}

}  // namespace voxfork::sip
