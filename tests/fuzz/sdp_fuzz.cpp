// SDP bodies of offers and answers (sip/sdp.hpp): parsed, looked at and
// rewritten the way the B2BUA does, then printed and parsed again.
#include "check.hpp"
#include "sip/sdp.hpp"

using namespace voxfork;
namespace sdp = voxfork::sip::sdp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto session = sdp::parse(fuzz::as_text(data, size));
    if (!session) return 0;
    const std::string printed = sdp::print(*session);
    VOXFORK_FUZZ_CHECK(sdp::parse(printed).has_value());
    if (sdp::Media* media = sdp::audio(*session)) {
        for (const auto& format : sdp::formats(*media)) {
            (void)sdp::codec_name(format);
            (void)sdp::to_codec(format);
        }
        (void)sdp::first_codec(*media);
        (void)sdp::has_known_codec(*media);
        (void)sdp::direction(*session, *media);
        (void)sdp::remote(*session, *media);
        (void)sdp::is_hold(*session, *media);
        (void)sdp::is_srtp(*media);
        sdp::Media answer = *media;
        sdp::restrict_formats(answer, {0, 8, 101});
        sdp::filter_codec(*media, config::Codec::g711alaw);
    }
    sdp::Origin origin{1, 1};
    // Anchored on either family (a bridged call's legs), the SDP still parses.
    sdp::Session v6 = *session;
    sdp::anchor(*session, *net::Address::parse("192.0.2.1"), 40000, origin);
    VOXFORK_FUZZ_CHECK(sdp::parse(sdp::print(*session)).has_value());
    sdp::anchor(v6, *net::Address::parse("2001:db8::1"), 40000, origin);
    VOXFORK_FUZZ_CHECK(sdp::parse(sdp::print(v6)).has_value());
    return 0;
}
