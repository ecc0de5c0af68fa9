// The SIP part: a B2BUA that anchors every call's media on the relay, routes
// by dial-peer, and hands forking requests to the fork part through the seam
// below. Everything here runs on the control-plane io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "voxfork/call.hpp"
#include "voxfork/config.hpp"
#include "voxfork/dns.hpp"
#include "voxfork/media.hpp"
#include "voxfork/overload.hpp"

namespace boost::asio {
class io_context;
}

namespace voxfork::ops {
class CommandRegistry;
}

namespace voxfork::sip {

// The seam's types (call.hpp), under the names the sip part has always used.
using call::CallId;
using call::Carrier;
using call::ForkRequest;
using call::ForkSeam;
using call::MediaState;

struct LegInfo {
    CallId callid = 0;
    std::uint32_t dial_peer = 0;  // 0: no dial-peer matched (inbound leg only)
    std::string sip_call_id;
    std::string remote;  // SIP peer, "ADDR:PORT"
};

struct CallInfo {
    CallId anchor = 0;
    LegInfo legs[2];  // indexed by media::Leg
    // The inbound INVITE's From (user part, display name) and called number.
    std::string caller_number, caller_name, called_number;
    bool confirmed = false;  // 200/ACK done on both legs
    MediaState media;
    media::SessionId relay_session = 0;  // for media::Relay::set_tap
};

// What the fork part calls back. Kept abstract so the fork part can be
// unit-tested against a fake.
class CallControl {
public:
    virtual ~CallControl() = default;
    // Sends an INFO (Content-Type application/x-cisco-record+json) on the leg
    // with this callid; false when that leg has no confirmed dialog.
    virtual bool send_status_info(CallId leg, std::string json) = 0;
    // The call that leg (either leg's callid) belongs to.
    virtual std::optional<CallInfo> find_call(CallId leg) const = 0;
};

// SIP counters, shown by `show sip-ua statistics`.
struct SipCounters {
    std::uint64_t invites_received = 0;
    std::uint64_t calls_connected = 0;
    std::uint64_t calls_failed = 0;
    std::uint64_t ack_timeouts = 0;        // answered calls whose 200 was never ACKed: ended with BYE
    std::uint64_t rejected_untrusted = 0;  // 403
    std::uint64_t rejected_no_route = 0;   // 404
    std::uint64_t rejected_codec = 0;      // 488
    std::uint64_t rejected_malformed = 0;  // 400, bad SDP or body
    std::uint64_t rejected_too_large = 0;  // 513, a request outside any dialog over 32 KiB (sip/call_manager.hpp)
    std::uint64_t rejected_no_dialog = 0;  // 481
    std::uint64_t rejected_no_ports = 0;   // 503, relay pool exhausted
    std::uint64_t rejected_overload = 0;   // 503, the control plane lagging (include/voxfork/overload.hpp)
    std::uint64_t downstream_503_as_500 = 0;  // a far end's 503 passed on as 500 (its cause in Reason)
    std::uint64_t glare = 0;               // 491
    std::uint64_t reinvites_relayed = 0;
    std::uint64_t infos_relayed = 0;
    std::uint64_t fork_requests = 0;
};

// One line of `show platform hardware qfp active feature sbc fork global`
// added by another part (the fork part's forked packets/bytes/drops).
using ExtraCounters = std::function<std::vector<std::pair<std::string, std::uint64_t>>(media::Direction)>;

// DNS for `session target dns:` names that `ip host` does not know: the
// daemon hands the B2BUA the lookup of dns.hpp, shared with the WebSocket
// pool, so both follow `ip name-server`. `done` gets the name's addresses,
// AAAA and A, in dns::connect_order() (empty: none); it runs on the
// io_context, never inside the call.
using NameResolver = std::function<void(const std::string& host, dns::Resolver::Handler done)>;

class B2bua : public CallControl {
public:
    // Registers the show commands at once; binds nothing until start().
    B2bua(boost::asio::io_context& io, config::ConfigPtr config, media::Relay& relay, ops::CommandRegistry& commands,
          NameResolver resolver);
    ~B2bua() override;
    B2bua(const B2bua&) = delete;
    B2bua& operator=(const B2bua&) = delete;

    // Binds `listen-port non-secure` (UDP and TCP) on `bind control
    // source-address`. False with `error` when it can't.
    bool start(std::string& error);
    // New dial-peers, trusted list, codecs apply to new calls; a changed
    // listen address or port needs a restart (logged).
    void reload(config::ConfigPtr config);
    // Releases every call with BYE (or CANCEL / 503), shuts the stack down,
    // then runs `done` on the io_context.
    void stop(std::function<void()> done);

    // The fork part (call.hpp); until it is set, a default seam logs the
    // requests it gets (and the Fork column says `none`). nullptr restores
    // that default. The seam must outlive the B2bua or be reset before it goes.
    void set_fork_seam(ForkSeam* seam);
    void set_extra_fork_counters(ExtraCounters counters);

    bool send_status_info(CallId leg, std::string json) override;
    std::optional<CallInfo> find_call(CallId leg) const override;

    const SipCounters& counters() const;
    const overload::Counters& overload_counters() const;
    std::size_t active_calls() const;
    std::size_t dialogs_open() const;  // `Dialogs open` of `show sip-ua statistics`

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace voxfork::sip
