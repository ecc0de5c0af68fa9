// Leg B of a new call: where it goes (the dial-peer's target, each of its
// addresses in turn while the earlier ones time out or answer 503), on
// ports of that address's family, and its INVITE.
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "call_manager.hpp"
#include "call_rules.hpp"
#include "routing.hpp"

namespace voxfork::sip {

bool CallManager::can_reach(net::Family family) const {
    if (!relay_.address(family)) return false;
    return family == net::Family::v4 || sip_address_ipv6_.has_value();
}

void CallManager::route(Call& call, std::vector<net::Address> addresses) {
    std::vector<std::string> skipped;
    for (const net::Address& address : addresses) {
        if (can_reach(address.family()))
            call.next_addresses.push_back(address);
        else
            skipped.push_back(address.to_string());
    }
    if (!skipped.empty())
        spdlog::info("sip: call {}: {} is also {}: not tried, no SIP or media address of that family here{}",
                     call.anchor, call.target.host, fmt::join(skipped, ", "), log_fields(call));
    if (call.next_addresses.empty()) {
        spdlog::info("sip: call {}: {} does not resolve{}", call.anchor, call.target.host, log_fields(call));
        // Not 503: one route's broken name is no reason for a proxy to stop sending us calls.
        return fail_routing(call, 500, "Server Internal Error");
    }
    send_leg_b(call);
}

void CallManager::set_latching(Call& call) {
    for (media::Leg side : {media::Leg::a, media::Leg::b})
        relay_.set_latching(call.relay, side,
                            call.legs[index(side)].latching == config::RtpLatching::learn ? media::Latching::learn
                                                                                          : media::Latching::strict);
}

// Nothing has named the old session's ports yet: leg A's SDP goes out with
// leg B's answer, and leg B's last offer went to an address that failed.
bool CallManager::rebind_leg_b(Call& call, net::Family family) {
    relay_.release(call.relay);
    call.relay = 0;
    const auto session = relay_.allocate(call.legs[0].family, family);
    if (!session) return false;
    call.relay = *session;
    call.legs[1].family = family;
    set_latching(call);
    relay_.set_remote(call.relay, media::Leg::a, call.legs[0].rtp, call.legs[0].rtcp);
    return true;
}

void CallManager::fail_routing(Call& call, int status, const char* phrase, const ResponseHeaders& headers) {
    stack_.respond(call.legs[0].pending_invite, status, phrase, nullptr, headers);
    call.legs[0].pending_invite = 0;
    if (!call.legs[1].handle) call.legs[1].gone = true;
    ++counters_.calls_failed;
    end_call(call);
}

bool CallManager::try_next_address(const Call& call, const Response& r) const {
    // A timeout, a transport error (the stack answers those itself) or a
    // 503 (RFC 3263 4.3), before anything reached the caller but a 100.
    return (r.status == 408 || r.status == 503) && call.phase == Phase::routing && !call.next_addresses.empty();
}

void CallManager::send_leg_b(Call& call) {
    Leg& b = call.legs[1];
    const routing::Target& t = call.target;
    const net::Address ip = call.next_addresses.front();
    call.next_addresses.erase(call.next_addresses.begin());
    if (ip.family() != b.family && !rebind_leg_b(call, ip.family())) {
        ResponseHeaders retry;
        retry.retry_after = kRetryAfterSeconds;
        ++counters_.rejected_no_ports;
        return fail_routing(call, 503, "Service Unavailable", retry);
    }
    b.remote = net::Endpoint{ip, t.port}.to_string();
    OutgoingInvite invite;
    invite.request_uri = routing::request_uri(call.called, ip, t.port, t.tcp);
    // Our address of the family the INVITE goes out on; URIs bracket an IPv6 one.
    const std::string local =
        ip.is_v6() && sip_address_ipv6_ ? net::Address::parse(*sip_address_ipv6_)->to_uri_host() : sip_address_;
    const auto host_literal = net::Address::parse(t.host);
    const std::string to_host = host_literal ? host_literal->to_uri_host() : t.host;
    invite.from = "<sip:" + (call.from_user.empty() ? std::string("anonymous") : call.from_user) + "@" + local + ">";
    invite.to = "<sip:" + call.called + "@" + to_host + ":" + std::to_string(t.port) + ">";
    // A copy: the offer goes again to the next address if this one fails.
    invite.body = sdp_body(anchored(call, media::Leg::b, *call.pending_offer));
    b.handle = stack_.invite(invite);
    if (!b.handle) {  // the stack could not build the request
        spdlog::warn("sip: call {}: leg B's INVITE could not be sent{}", call.anchor, log_fields(call));
        return fail_routing(call, 500, "Server Internal Error");
    }
    b.gone = false;
    b.invite_outstanding = true;
    by_handle_[b.handle] = {&call, media::Leg::b};
}

}  // namespace voxfork::sip
