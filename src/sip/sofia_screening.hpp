// Requests outside a dialog, screened before sofia-sip makes a transaction
// for them (docs/sip.md, "Requests outside a dialog"): each nua parses with
// its own copy of sofia's SIP message class whose body step runs at the empty
// line after a message's headers, the one moment a request is seen
// whole-headed before nta keeps anything of it. There the stack's listener
// says whether to take it, drop it, or answer it statelessly from here.
#pragma once

#include <string>

#include <sofia-sip/msg_types.h>

#include "stack.hpp"
#include "voxfork/net.hpp"

namespace voxfork::sip {

// The Allow of every answer voxforkd gives, stateful or stateless.
inline constexpr const char* allowed_methods = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO";

// What screening needs of the stack it screens for, one per nua. The
// pointers are the stack's and outlive the screening (stop_screening()).
struct Screener {
    StackListener* listener = nullptr;        // decides for each request (StackListener::screen)
    const std::string* user_agent = nullptr;  // the stateless answers' User-Agent
    int udp_fd = -1;                          // the nua's UDP socket: stateless answers leave from it
    net::Endpoint local;                      // where it listens (UDP and TCP)
    const std::string* contact = nullptr;     // its UDP Contact, for OPTIONS answers
};

// A copy of sofia's SIP message class that screens, for a nua to parse with
// (NTATAG_MCLASS); it screens nothing until screen_with() names its Screener.
// The caller frees it with std::free once its nua is destroyed.
msg_mclass_t* screening_mclass();
// From now on requests parsed with `mclass` are screened by `screener`.
void screen_with(const msg_mclass_t* mclass, const Screener& screener);
// Requests parsed with `mclass` pass unscreened from now on.
void stop_screening(const msg_mclass_t* mclass);
// The Screener of `mclass`; nullptr when none.
const Screener* screener_of(const msg_mclass_t* mclass);

}  // namespace voxfork::sip
