// A SIP message body as sofia-sip parsed it, turned into voxfork's Body: the
// content type and the text, and a multipart/mixed body split into its parts
// (multipart.hpp).
// Apart from the stack adapter so that the body parsing can be exercised on
// its own (tests/fuzz/multipart_fuzz.cpp).
#pragma once

#include <sofia-sip/msg_types.h>
#include <sofia-sip/msg_mime.h>

#include "stack.hpp"

namespace voxfork::sip {

// Either may be null (a message without a Content-Type or without a body).
Body read_body(msg_content_type_t const* type, msg_payload_t const* payload);

}  // namespace voxfork::sip
