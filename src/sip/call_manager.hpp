// The B2BUA proper: calls of two legs, routing, offer/answer relayed with the
// SDP anchored on the relay, and the fork seam. It sees the SIP stack only
// through Stack/StackListener, so it is unit-tested with a fake stack.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "routing.hpp"
#include "sdp.hpp"
#include "stack.hpp"
#include "voxfork/config.hpp"
#include "voxfork/media.hpp"
#include "voxfork/ops.hpp"
#include "voxfork/sip.hpp"

namespace voxfork::sip {

// One row of `show call active voice brief`, and one leg of `show call active voice`.
struct LegRow {
    CallId callid = 0;
    CallId peer = 0;
    std::uint32_t dial_peer = 0;
    std::string remote;
    std::string codec;
    std::string state;
    std::string fork;
    // The details: the call, our port, where the SDP says the leg's remote is and where it is latched.
    CallId anchor = 0;
    config::RtpLatching latching = config::RtpLatching::learn;
    std::uint16_t relay_port = 0;  // our RTP port on this leg (RTCP is +1)
    net::Endpoint rtp_signalled{}, rtcp_signalled{};
    net::Endpoint rtp_latched{}, rtcp_latched{};  // address 0: not latched
    std::uint32_t latches = 0, latch_moves = 0;
};

inline constexpr const char* kForkContentType = "application/x-cisco-record+json";

// The largest request outside any dialog taken over UDP; larger is answered
// 513 at once (docs/sip.md, "Large messages and floods"). A new INVITE
// carries an SDP offer of a few KiB (a forking request's JSON comes only
// inside a confirmed dialog): 32 KiB leaves room for any plausible one.
inline constexpr std::size_t kMaxOutOfDialogBytes = 32 * 1024;

// Why an offer (or answer) is refused with 488: a Warning code of RFC 3261
// 20.43 and its text (docs/sip.md lists them).
struct MediaRefusal {
    int code = 0;
    const char* text = "";
};

class CallManager : public StackListener, public CallControl {
public:
    CallManager(Stack& stack, media::Relay& relay, config::ConfigPtr config, NameResolver resolver);
    ~CallManager() override;

    // Looks up learn_dns_targets() again for the new dial-peers.
    void set_config(config::ConfigPtr config);
    // With an empty trusted list the dial-peers' targets are trusted; a
    // `dns:` target that `ip host` does not know is trusted by the address DNS
    // gives it, looked up here (at start and on every reload), not per INVITE.
    void learn_dns_targets();
    // The addresses SIP listens on (bound at start; a reload does not move
    // them): leg B goes out on IPv6 only when there is one. Until it is
    // called, those of the configuration.
    void set_signalling(std::string ipv4, std::optional<std::string> ipv6);
    void set_seam(ForkSeam* seam);
    // Asked at each new INVITE: true refuses it at once (503, Retry-After).
    void set_overload_check(std::function<bool()> overloaded) { overloaded_ = std::move(overloaded); }

    void on_request(const IncomingRequest& request) override;
    void on_response(const Response& response) override;
    void on_terminated(HandleId handle) override;
    void on_ack_timeout(HandleId handle) override;
    // Requests outside any dialog over UDP: the ones answered without a
    // transaction (screening.cpp).
    int screen(const Arrival& arrival) override;

    bool send_status_info(CallId leg, std::string json) override;
    std::optional<CallInfo> find_call(CallId leg) const override;

    // Ends every call: BYE on confirmed legs, CANCEL on ringing ones, 503 to
    // unanswered INVITEs.
    void release_all();
    std::size_t call_count() const;
    // Calls still known, ended ones whose dialogs the stack has not let go yet included.
    std::size_t calls_left() const { return calls_.size(); }
    std::size_t dialogs_open() const { return by_handle_.size(); }
    std::vector<LegRow> rows() const;
    // The relay's latches since the last look (media::Relay::take_latch_changes): logged, counted per leg.
    void on_latch_changes(const std::vector<media::LatchChange>& changes);
    const SipCounters& counters() const { return counters_; }

private:
    struct Leg {
        CallId id = 0;
        HandleId handle = 0;
        std::uint32_t dial_peer = 0;
        std::optional<config::Codec> codec;  // the dial-peer's filter
        config::RtpLatching latching = config::RtpLatching::learn;
        net::Family family = net::Family::v4;  // of its relay ports, its SDP and its remote's media
        std::uint32_t latches = 0, latch_moves = 0;
        std::string remote;
        std::string sip_call_id;
        sdp::Origin origin;
        std::string last_sdp;               // the SDP we last sent on this leg
        net::Endpoint rtp, rtcp;          // the remote's media, as the relay has it
        net::Endpoint old_rtp, old_rtcp;  // before its open re-INVITE, to go back to on failure
        RequestId pending_invite = 0;       // an incoming (re-)INVITE we still owe an answer
        bool invite_outstanding = false;    // our (re-)INVITE waits for its final answer
        bool confirmed = false;
        bool gone = false;            // the stack is done with the handle
        std::deque<RequestId> infos;  // our INFOs in flight: relayed request, or 0 (status)
        // Status INFOs waiting for the dialog to be confirmed (a request of the early dialog).
        std::vector<std::string> held_status;
    };
    enum class Phase { routing, alerting, active, ended };
    struct Call {
        CallId anchor = 0;
        Leg legs[2];
        Phase phase = Phase::routing;
        media::SessionId relay = 0;  // 0: none (between a release and a new allocation)
        // The caller's offer, kept until leg B's first INVITE is answered: the
        // target may resolve to several addresses, tried in turn.
        std::optional<sdp::Session> pending_offer;
        routing::Target target;
        std::vector<net::Address> next_addresses;  // of the target, not tried yet
        std::string called;
        std::string from_user;
        std::string from_display;
        std::optional<media::Leg> offer_from;  // side whose offer is being relayed
        bool offer_hold = false;
        bool offer_srtp = false;
        MediaState media;
        bool media_known = false;
    };

    // What ends a call's log line: the inbound leg's SIP Call-ID and the
    // fork's call-guid once there is one (ops::call_fields).
    std::string log_fields(const Call& call) const;
    void new_invite(const IncomingRequest& r);
    void in_dialog(Call& call, media::Leg side, const IncomingRequest& r);
    void reinvite(Call& call, media::Leg side, const IncomingRequest& r);
    void info(Call& call, media::Leg side, const IncomingRequest& r);
    void invite_response(Call& call, media::Leg side, const Response& r);
    // The target's addresses once known: those of a family the B2BUA can
    // anchor and signal on are tried in turn (send_leg_b).
    void route(Call& call, std::vector<net::Address> addresses);
    // Leg B's INVITE to the next address of the target.
    void send_leg_b(Call& call);
    // Ends a call whose leg B could not be sent: `status` to the caller.
    void fail_routing(Call& call, int status, const char* phrase, const ResponseHeaders& headers = {});
    // True when leg B may go to the next address after this answer to its INVITE (RFC 3263 4.3).
    bool try_next_address(const Call& call, const Response& r) const;
    // Whether a leg of that family can be anchored (the relay has an address
    // of it) and, for leg B, signalled (SIP listens on it).
    bool can_reach(net::Family family) const;
    // Leg B's ports moved to the other family; false when the pool is empty.
    bool rebind_leg_b(Call& call, net::Family family);
    void set_latching(Call& call);
    // The relay's address of a leg's family, for its SDP (the relay's, not
    // the configuration's: a reload the relay refused leaves the old one).
    net::Address media_address(net::Family family) const;
    // Answer from `side` to an offer that came from the other side; false when it is unusable.
    bool relay_answer(Call& call, media::Leg side, int status, const std::string& phrase, const std::string& sdp_text);
    void set_remote(Call& call, media::Leg side, const sdp::Session& session);
    // A re-INVITE from `offerer` failed: its media stays where it was.
    void restore_remote(Call& call, media::Leg offerer);
    std::string anchored(Call& call, media::Leg side, sdp::Session session);
    void reject(const IncomingRequest& r, int status, const char* phrase, std::uint64_t& counter,
                const ResponseHeaders& headers = {});
    // Counts and logs a stateless answer; returns its status.
    int refuse(const Arrival& arrival, int status, std::uint64_t& counter);
    // 488 with a Warning that says what in the offer we can't take.
    void refuse_offer(const IncomingRequest& r, const MediaRefusal& why);
    ResponseHeaders warning(const MediaRefusal& why) const;
    // A far end's final answer, given to the request `to` on the other leg;
    // a 503 goes on as 500 with the original in a Reason header.
    void relay_final(RequestId to, const Response& answer, const Body* body);
    // Sends the status INFOs held while the leg's dialog was early.
    void flush_status(Leg& leg);
    void end_call(Call& call);
    void forget_if_done(Call& call);
    void hand_fork_request(Call& call, media::Leg side, const IncomingRequest& r, Carrier carrier,
                           const std::string& json);
    std::string state_of(const Call& call) const;

    Stack& stack_;
    media::Relay& relay_;
    config::ConfigPtr config_;
    std::string sip_address_;                      // IPv4
    std::optional<std::string> sip_address_ipv6_;  // unset: SIP on IPv4 only
    std::function<bool()> overloaded_;
    NameResolver resolver_;
    std::set<net::Address> dns_target_addresses_;  // in force; see learn_dns_targets()
    std::set<net::Address> learned_addresses_;     // of the lookups under way
    std::size_t dns_lookups_left_ = 0;
    std::uint64_t dns_generation_ = 0;  // answers for an older configuration are dropped
    std::unique_ptr<ForkSeam> default_seam_;
    ForkSeam* seam_;
    SipCounters counters_;
    // Requests refused before any call exists (floods): 20 lines a second.
    ops::LogThrottle refusal_lines_{20};
    CallId next_id_ = 1;
    std::uint64_t origin_base_;
    std::map<CallId, std::unique_ptr<Call>> calls_;  // by anchor
    std::unordered_map<CallId, Call*> by_leg_;
    std::unordered_map<HandleId, std::pair<Call*, media::Leg>> by_handle_;
};

}  // namespace voxfork::sip
