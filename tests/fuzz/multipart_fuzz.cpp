// Message bodies as the SIP stack hands them over (sip/sofia_body.hpp): the
// first line is the Content-Type header's value, the rest the body; a
// multipart/mixed body is split by sofia-sip into parts.
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mime_protos.h>
#include <sofia-sip/su_alloc.h>

#include <string>

#include "check.hpp"
#include "sip/sofia_body.hpp"

using namespace voxfork;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_text(data, size);
    const std::size_t eol = input.find('\n');
    if (eol == std::string_view::npos) return 0;
    // sofia parses a header value as a C string: the type ends at its first NUL.
    const std::string type_text(input.substr(0, eol));
    const std::string_view payload_text = input.substr(eol + 1);
    su_home_t home[1] = {SU_HOME_INIT(home)};
    msg_content_type_t* type = msg_content_type_make(home, type_text.c_str());
    msg_payload_t* payload = msg_payload_create(home, payload_text.data(), payload_text.size());
    const sip::Body body = sip::read_body(type, payload);
    (void)body.find("application/sdp");
    (void)body.count("application/json");
    VOXFORK_FUZZ_CHECK(body.text == payload_text);
    VOXFORK_FUZZ_CHECK(!body.malformed || body.parts.empty());
    su_home_deinit(home);
    return 0;
}
