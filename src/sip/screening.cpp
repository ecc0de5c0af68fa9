// Which requests outside any dialog are answered at once, without a
// transaction or a handle, as they arrive (docs/sip.md, "Large messages and
// floods"). The stack asks before it keeps anything.
#include <spdlog/spdlog.h>

#include "call_manager.hpp"
#include "routing.hpp"

namespace voxfork::sip {

int CallManager::screen(const Arrival& a) {
    const bool too_large = a.bytes > kMaxOutOfDialogBytes;
    const auto trusted = [&] { return routing::is_trusted(*config_, a.source.ip, dns_target_addresses_); };
    // Nothing is ever answered to an ACK.
    if (a.method == Method::ack) return too_large || (!a.source.tcp && !trusted()) ? kDropSilently : 0;
    if (too_large) return refuse(a, 513, counters_.rejected_too_large);
    // Over TCP an answer here ends the connection (sofia stops reading after
    // a request it drops): only for what would end it anyway.
    if (a.source.tcp) return 0;
    // A probe or a keepalive: nothing to remember whoever sends it.
    if (a.method == Method::options) return 200;
    if (trusted()) return 0;
    switch (a.method) {
        case Method::bye:
        case Method::info:
        case Method::cancel:
            // Their dialog or INVITE would have come from the same untrusted source: it has none.
            return refuse(a, 481, counters_.rejected_no_dialog);
        default:
            return refuse(a, 403, counters_.rejected_untrusted);
    }
}

int CallManager::refuse(const Arrival& a, int status, std::uint64_t& counter) {
    ++counter;
    if (a.method == Method::invite) ++counters_.invites_received;
    std::uint64_t left_out = 0;
    if (refusal_lines_.allow(ops::LogThrottle::Clock::now(), left_out))
        spdlog::info("sip: {} from {} answered {} without a transaction ({} bytes){}", a.call_id,
                     a.source.to_string(), status, a.bytes, ops::LogThrottle::note(left_out));
    return status;
}

}  // namespace voxfork::sip
