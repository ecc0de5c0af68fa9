// The SIP part's show commands, as text and as `| json` data.
#pragma once

#include <vector>

#include "call_manager.hpp"
#include "voxfork/media.hpp"
#include "voxfork/ops.hpp"
#include "voxfork/overload.hpp"
#include "voxfork/sip.hpp"

namespace voxfork::sip {

// `show call active voice brief`
ops::CommandOutput show_calls(const std::vector<LegRow>& rows);
// `show call active voice`: each call, its legs and their media (signalled, latched)
ops::CommandOutput show_call_details(const std::vector<LegRow>& rows);
// `show sip-ua statistics`
// `dialogs` is the number of SIP dialogs (and pending requests' handles) held.
ops::CommandOutput show_statistics(const SipCounters& counters, std::size_t dialogs,
                                   const overload::Counters& overload = {});
// `show platform hardware qfp active feature sbc fork global`
ops::CommandOutput show_fork_global(const media::Relay& relay, const ExtraCounters& extra);

}  // namespace voxfork::sip
