#include "call_manager.hpp"

#include <cctype>
#include <chrono>

#include <spdlog/spdlog.h>

#include "call_rules.hpp"
#include "routing.hpp"
#include "voxfork/dialplan.hpp"
#include "voxfork/ops.hpp"

namespace voxfork::sip {
namespace {

// The first payload type of the audio stream of `sdp_text` whose format is
// `wanted`; -1 when there is none.
int payload_type_in(const std::string& sdp_text, const std::function<bool(const sdp::Format&)>& wanted) {
    auto session = sdp::parse(sdp_text);
    const sdp::Media* audio = session ? sdp::audio(*session) : nullptr;
    if (audio)
        for (const auto& f : sdp::formats(*audio))
            if (wanted(f)) return f.payload_type;
    return -1;
}

// A URI user part as RFC 3261 spells it (unreserved, escaped, user-unreserved).
// The caller's and the called user go into leg B's From, To and Request-URI:
// one the stack took in a header but cannot build a request from would leave
// leg B unsent and the call stuck in setup.
bool sip_user(std::string_view user) {
    constexpr std::string_view allowed = "-_.!~*'()%&=+$,;?/";
    for (char c : user)
        if (!std::isalnum(static_cast<unsigned char>(c)) && allowed.find(c) == std::string_view::npos) return false;
    return true;
}

// A Reason text is a quoted string: keep out what would end or escape it.
std::string quotable(std::string_view text) {
    std::string out;
    for (char c : text)
        if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) out += c;
    return out;
}

// Until the fork part sets its own seam: say what arrived, fork nothing.
class LoggingSeam : public ForkSeam {
public:
    void on_fork_request(const ForkRequest& r) override {
        spdlog::info("sip: forking request on callid {} (call {}, {}), no fork part: {}{}", r.leg, r.anchor,
                     r.carrier == Carrier::info ? "INFO" : "re-INVITE", r.json,
                     ops::call_fields({r.anchor, r.sip_call_id, {}}));
    }
    void on_media_changed(CallId, const MediaState&) override {}
    void on_call_ended(CallId) override {}
    std::string fork_state(CallId) const override { return "none"; }
};

}  // namespace

CallManager::CallManager(Stack& stack, media::Relay& relay, config::ConfigPtr config, NameResolver resolver)
    : stack_(stack),
      relay_(relay),
      config_(std::move(config)),
      sip_address_(config_->voip.sip.control_address),
      sip_address_ipv6_(config_->voip.sip.control_address_ipv6),
      resolver_(std::move(resolver)),
      default_seam_(std::make_unique<LoggingSeam>()),
      seam_(default_seam_.get()),
      origin_base_(
          static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch() / std::chrono::seconds(1))) {}

void CallManager::set_signalling(std::string ipv4, std::optional<std::string> ipv6) {
    sip_address_ = std::move(ipv4);
    sip_address_ipv6_ = std::move(ipv6);
}

void CallManager::set_config(config::ConfigPtr config) {
    config_ = std::move(config);
    learn_dns_targets();
}

// The addresses in force stay until every lookup of the new set has
// answered, so a reload does not refuse a peer for the time of a lookup.
void CallManager::learn_dns_targets() {
    // An explicit trusted list is used alone: nothing to look up then.
    const std::vector<std::string> hosts =
        config_->voip.trusted.empty() ? routing::dns_only_targets(*config_) : std::vector<std::string>{};
    const std::uint64_t generation = ++dns_generation_;
    dns_lookups_left_ = hosts.size();
    learned_addresses_.clear();
    if (hosts.empty()) dns_target_addresses_.clear();
    for (const std::string& host : hosts) {
        resolver_(host, [this, generation, host](std::vector<net::Address> addresses) {
            if (generation != dns_generation_) return;
            for (const net::Address& address : addresses) {
                learned_addresses_.insert(address);
                spdlog::info("sip: session target {} is {}: trusted by default", host, address.to_string());
            }
            if (addresses.empty()) spdlog::warn("sip: session target {} does not resolve: not trusted", host);
            if (--dns_lookups_left_ == 0) dns_target_addresses_ = std::move(learned_addresses_);
        });
    }
}

CallManager::~CallManager() {
    for (auto& [anchor, call] : calls_)
        if (call->phase != Phase::ended && call->relay) relay_.release(call->relay);
}

void CallManager::set_seam(ForkSeam* seam) {
    seam_ = seam ? seam : default_seam_.get();
}

void CallManager::reject(const IncomingRequest& r, int status, const char* phrase, std::uint64_t& counter,
                         const ResponseHeaders& headers) {
    ++counter;
    std::uint64_t left_out = 0;
    if (refusal_lines_.allow(ops::LogThrottle::Clock::now(), left_out))
        spdlog::info("sip: {} from {} answered {} {}{}{}{}", r.call_id, r.source.to_string(), status, phrase,
                     headers.warning.empty() ? "" : ": ", headers.warning, ops::LogThrottle::note(left_out));
    stack_.respond(r.request, status, phrase, nullptr, headers);
}

ResponseHeaders CallManager::warning(const MediaRefusal& why) const {
    ResponseHeaders headers;
    headers.warning = std::to_string(why.code) + " " + config_->hostname + " \"" + why.text + "\"";
    return headers;
}

void CallManager::refuse_offer(const IncomingRequest& r, const MediaRefusal& why) {
    reject(r, 488, "Not Acceptable Here", counters_.rejected_codec, warning(why));
}

void CallManager::relay_final(RequestId to, const Response& answer, const Body* body) {
    if (answer.status != 503) return stack_.respond(to, answer.status, answer.phrase, body);
    // A proxy in front takes a 503 as "this server is overloaded" and stops
    // sending it calls: a far end's 503 is the call's failure, not ours.
    ++counters_.downstream_503_as_500;
    ResponseHeaders headers;
    headers.reason = "SIP;cause=503;text=\"" + quotable(answer.phrase) + "\"";
    stack_.respond(to, 500, "Server Internal Error", nullptr, headers);
}

void CallManager::on_request(const IncomingRequest& r) {
    auto it = by_handle_.find(r.handle);
    if (it != by_handle_.end()) {
        in_dialog(*it->second.first, it->second.second, r);
        return;
    }
    switch (r.method) {
        case Method::invite:
            new_invite(r);
            return;
        case Method::options:
            if (r.request) stack_.respond(r.request, 200, "OK", nullptr);
            break;
        case Method::ack:
        case Method::cancel:
            break;  // of a request already answered; nothing is left to do
        default:
            // INFO (forking requests included) and BYE need a dialog.
            if (r.request) reject(r, 481, "Call/Transaction Does Not Exist", counters_.rejected_no_dialog);
            break;
    }
    stack_.release(r.handle);
}

void CallManager::new_invite(const IncomingRequest& r) {
    ++counters_.invites_received;
    const config::Config& cfg = *config_;
    if (!routing::is_trusted(cfg, r.source.ip, dns_target_addresses_))
        return reject(r, 403, "Forbidden", counters_.rejected_untrusted);
    // Before any work the call would bring: the calls already up need the loop.
    if (overloaded_ && overloaded_()) {
        ResponseHeaders retry;
        retry.retry_after = kRetryAfterSeconds;
        return reject(r, 503, "Service Unavailable", counters_.rejected_overload, retry);
    }
    if (r.body.malformed) return reject(r, 400, "Malformed Body", counters_.rejected_malformed);
    if (unusable_contact(r)) return reject(r, 400, "Bad Contact", counters_.rejected_malformed);
    if (!sip_user(r.from_user) || !sip_user(r.request_user))
        return reject(r, 400, "Bad Request", counters_.rejected_malformed);
    const std::string* sdp_text = sdp_of(r.body);
    if (!sdp_text) return refuse_offer(r, kNoOffer);
    std::string error;
    auto offer = sdp::parse(*sdp_text, &error);
    if (!offer) {
        spdlog::info("sip: {}: bad SDP: {}", r.call_id, error);
        return reject(r, 400, "Bad SDP", counters_.rejected_malformed);
    }
    sdp::Media* audio = sdp::audio(*offer);
    if (auto why = stream_problem(*offer, audio, relay_.address(net::Family::v6).has_value())) return refuse_offer(r, *why);

    const config::DialPeer* inbound = dialplan::find_inbound(cfg, r.request_user);
    const config::DialPeer* outbound = dialplan::find_outbound(cfg, r.request_user);
    std::optional<routing::Target> target = outbound ? routing::target_of(cfg, *outbound) : std::nullopt;
    if (!target) return reject(r, 404, "Not Found", counters_.rejected_no_route);
    if (auto why = filter_problem(*audio, {inbound ? inbound->codec : std::nullopt, outbound->codec}))
        return refuse_offer(r, *why);
    const net::Family family_a = offer_family(*offer, *audio);
    // Leg B is of its address's family. A name DNS must answer first gets
    // the relay's first family for now: its ports move (rebind_leg_b) if the
    // address it goes to is of the other, before any SDP names them.
    const net::Family family_b = target->address ? target->address->family()
                                 : relay_.address(net::Family::v4) ? net::Family::v4
                                                                   : net::Family::v6;
    if (target->address && !can_reach(family_b)) {
        // A configuration error (voxforkd --check names it), not the caller's.
        spdlog::warn("sip: {}: dial-peer {} targets {} but SIP or the relay has no IPv6 address", r.call_id,
                     outbound->tag, target->address->to_string());
        return reject(r, 500, "Server Internal Error", counters_.rejected_no_route);
    }
    auto session = relay_.allocate(family_a, family_b);
    if (!session) {
        ResponseHeaders retry;
        retry.retry_after = kRetryAfterSeconds;
        return reject(r, 503, "Service Unavailable", counters_.rejected_no_ports, retry);
    }

    auto call = std::make_unique<Call>();
    call->anchor = next_id_;
    call->relay = *session;
    call->called = r.request_user;
    call->from_user = r.from_user;
    call->from_display = r.from_display;
    Leg& a = call->legs[0];
    Leg& b = call->legs[1];
    a.id = next_id_++;
    b.id = next_id_++;
    a.handle = r.handle;
    a.dial_peer = inbound ? inbound->tag : 0;
    a.codec = inbound ? inbound->codec : std::nullopt;
    a.latching = inbound ? inbound->rtp_latching : config::DialPeer{}.rtp_latching;
    a.family = family_a;
    b.family = family_b;
    a.remote = r.source.to_string();
    a.sip_call_id = r.call_id;
    a.pending_invite = r.request;
    a.origin.session_id = origin_base_ + a.id;
    b.dial_peer = outbound->tag;
    b.codec = outbound->codec;
    b.latching = outbound->rtp_latching;
    set_latching(*call);
    b.remote = target->address ? net::Endpoint{*target->address, target->port}.to_string()
                               : target->host + ":" + std::to_string(target->port);
    b.origin.session_id = origin_base_ + b.id;
    call->offer_from = media::Leg::a;
    call->offer_hold = sdp::is_hold(*offer, *audio);
    call->offer_srtp = sdp::is_srtp(*audio);
    set_remote(*call, media::Leg::a, *offer);
    call->pending_offer = std::move(offer);
    call->target = *target;

    Call* raw = call.get();
    by_handle_[a.handle] = {raw, media::Leg::a};
    by_leg_[a.id] = raw;
    by_leg_[b.id] = raw;
    calls_[raw->anchor] = std::move(call);
    spdlog::info("sip: call {} from {} to {}: dial-peers {} -> {}{}", raw->anchor, r.source.to_string(), r.request_user,
                 a.dial_peer, b.dial_peer, log_fields(*raw));

    if (target->address) return route(*raw, {*target->address});
    CallId anchor = raw->anchor;
    resolver_(target->host, [this, anchor](std::vector<net::Address> addresses) {
        auto found = calls_.find(anchor);
        if (found == calls_.end() || found->second->phase == Phase::ended) return;
        route(*found->second, std::move(addresses));
    });
}

net::Address CallManager::media_address(net::Family family) const {
    // A leg is only allocated on a family the relay has an address of.
    return relay_.address(family).value_or(net::Address::any(family));
}

std::string CallManager::anchored(Call& call, media::Leg side, sdp::Session session) {
    Leg& leg = call.legs[index(side)];
    sdp::anchor(session, media_address(leg.family), relay_.local_rtp_port(call.relay, side),
                leg.origin);
    leg.last_sdp = sdp::print(session);
    return leg.last_sdp;
}

void CallManager::set_remote(Call& call, media::Leg side, const sdp::Session& session) {
    const sdp::Media* audio = sdp::audio(session);
    sdp::Remote remote = audio ? sdp::remote(session, *audio) : sdp::Remote{};
    Leg& leg = call.legs[index(side)];
    leg.rtp = {remote.address, remote.rtp_port};
    leg.rtcp = {remote.rtcp_address, remote.rtcp_port};
    if (!remote.ok || remote.address.is_unspecified()) leg.rtp = leg.rtcp = {};
    relay_.set_remote(call.relay, side, leg.rtp, leg.rtcp);
}

void CallManager::on_response(const Response& r) {
    auto it = by_handle_.find(r.handle);
    if (it == by_handle_.end()) return;
    Call& call = *it->second.first;
    media::Leg side = it->second.second;
    Leg& leg = call.legs[index(side)];
    if (r.method == Method::invite) return invite_response(call, side, r);
    if (r.method == Method::info && r.status >= 200 && !leg.infos.empty()) {
        RequestId relayed = leg.infos.front();
        leg.infos.pop_front();
        Leg& far = call.legs[index(other(side))];
        if (relayed && !far.gone) {
            relay_final(relayed, r, r.body.empty() ? nullptr : &r.body);
        }
    }
}

void CallManager::invite_response(Call& call, media::Leg side, const Response& r) {
    Leg& leg = call.legs[index(side)];
    Leg& far = call.legs[index(other(side))];
    if (call.phase == Phase::ended) {
        // The callee answered as the caller gave up: that dialog must go too.
        if (r.status >= 200 && r.status < 300 && !leg.gone) stack_.bye(leg.handle);
        return;
    }
    const bool initial = call.phase != Phase::active;
    if (initial && side == media::Leg::b && r.status > 100 && !try_next_address(call, r)) {
        call.pending_offer.reset();  // no other address will be offered it
        call.next_addresses.clear();
    }
    const std::string* sdp_text = sdp_of(r.body);
    if (r.status < 200) {
        if (r.status == 100 || !initial || !far.pending_invite) return;
        call.phase = Phase::alerting;
        if (sdp_text && relay_answer(call, side, r.status, r.phrase, *sdp_text)) return;
        stack_.respond(far.pending_invite, r.status, r.phrase, nullptr);
        return;
    }
    leg.invite_outstanding = false;
    if (r.status < 300) {
        leg.confirmed = true;  // the stack sends the ACK
        if (!sdp_text || !relay_answer(call, side, r.status, r.phrase, *sdp_text)) {
            ++counters_.rejected_malformed;
            spdlog::info("sip: call {}: unusable answer from callid {}{}", call.anchor, leg.id, log_fields(call));
            if (initial) {
                stack_.bye(leg.handle);
                stack_.respond(far.pending_invite, 488, "Not Acceptable Here", nullptr, warning(kUnusableAnswer));
                far.pending_invite = 0;
                ++counters_.calls_failed;
                return end_call(call);
            }
            stack_.respond(far.pending_invite, 488, "Not Acceptable Here", nullptr, warning(kUnusableAnswer));
            far.pending_invite = 0;
            call.offer_from.reset();
            restore_remote(call, other(side));
            return;
        }
        if (initial) {
            call.phase = Phase::active;
            ++counters_.calls_connected;
            flush_status(leg);
        }
        return;
    }
    if (initial && side == media::Leg::b && try_next_address(call, r)) {
        spdlog::info("sip: call {}: {} answered {}, trying {}{}", call.anchor, leg.remote, r.status,
                     call.next_addresses.front().to_string(), log_fields(call));
        // The failed dialog's end is none of the call's business any more.
        by_handle_.erase(leg.handle);
        leg.handle = 0;
        return send_leg_b(call);
    }
    // A failure: the offerer gets the same answer (a 503 as 500, see relay_final).
    if (far.pending_invite) relay_final(far.pending_invite, r, nullptr);
    far.pending_invite = 0;
    call.offer_from.reset();
    if (initial) {
        spdlog::info("sip: call {}: callid {} answered {}{}", call.anchor, leg.id, r.status, log_fields(call));
        ++counters_.calls_failed;
        return end_call(call);
    }
    restore_remote(call, other(side));
}

void CallManager::restore_remote(Call& call, media::Leg offerer) {
    Leg& leg = call.legs[index(offerer)];
    leg.rtp = leg.old_rtp;
    leg.rtcp = leg.old_rtcp;
    relay_.set_remote(call.relay, offerer, leg.rtp, leg.rtcp);
}

bool CallManager::relay_answer(Call& call, media::Leg side, int status, const std::string& phrase,
                               const std::string& sdp_text) {
    Leg& far = call.legs[index(other(side))];
    auto answer = sdp::parse(sdp_text);
    if (!answer) return false;
    const sdp::Media* audio = sdp::audio(*answer);
    if (!audio) return false;
    // The answerer's address must be of the family we offered it: its leg's ports are bound to that one.
    const sdp::Remote remote = sdp::remote(*answer, *audio);
    if (!remote.ok || (!remote.address.is_unspecified() && remote.address.family() != call.legs[index(side)].family))
        return false;
    set_remote(call, side, *answer);
    std::optional<sdp::Format> codec = sdp::first_codec(*audio);
    MediaState media;
    media.codec[0] = media.codec[1] = codec ? sdp::codec_name(*codec) : std::string();
    media.hold = call.offer_hold || sdp::is_hold(*answer, *audio);
    media.srtp = call.offer_srtp || sdp::is_srtp(*audio);
    Body body = sdp_body(anchored(call, other(side), std::move(*answer)));
    // Each side sends with the payload types of the SDP it got from us.
    for (int i = 0; i < 2; ++i) {
        const std::string& sent = call.legs[i].last_sdp;
        media.telephone_event_pt[i] =
            payload_type_in(sent, [](const sdp::Format& f) { return f.is_telephone_event(); });
        if (codec)
            media.codec_pt[i] = payload_type_in(sent, [&](const sdp::Format& f) {
                return !f.is_telephone_event() && sdp::codec_name(f) == media.codec[i];
            });
    }
    stack_.respond(far.pending_invite, status, phrase, &body);
    if (status >= 200) {
        far.pending_invite = 0;
        call.offer_from.reset();
        call.media = media;
        call.media_known = true;
        seam_->on_media_changed(call.anchor, media);
    }
    return true;
}

void CallManager::on_latch_changes(const std::vector<media::LatchChange>& changes) {
    for (const media::LatchChange& change : changes) {
        for (auto& [anchor, call] : calls_) {
            if (call->relay != change.session || call->phase == Phase::ended) continue;
            Leg& leg = call->legs[index(change.leg)];
            const net::Endpoint& signalled = change.rtcp ? leg.rtcp : leg.rtp;
            ++(change.moved ? leg.latch_moves : leg.latches);
            spdlog::info("sip: call {}: callid {} {} {} {} (SDP {}){}", anchor, leg.id, change.rtcp ? "RTCP" : "RTP",
                         change.moved ? "moved to" : "latched to", change.source.to_string(), signalled.to_string(),
                         log_fields(*call));
            break;
        }
    }
}

std::string CallManager::log_fields(const Call& call) const {
    const std::string guid = seam_->call_guid(call.anchor);
    return ops::call_fields({call.anchor, call.legs[0].sip_call_id, guid});
}

void CallManager::end_call(Call& call) {
    if (call.phase != Phase::ended) {
        call.phase = Phase::ended;
        if (call.relay) relay_.release(call.relay);
        // Named before the fork part lets go of the call (and its call-guid).
        const std::string fields = log_fields(call);
        seam_->on_call_ended(call.anchor);
        spdlog::info("sip: call {} ended{}", call.anchor, fields);
    }
    forget_if_done(call);
}

void CallManager::forget_if_done(Call& call) {
    if (call.phase != Phase::ended) return;
    for (const Leg& leg : call.legs)
        if (leg.handle && !leg.gone) return;
    by_leg_.erase(call.legs[0].id);
    by_leg_.erase(call.legs[1].id);
    calls_.erase(call.anchor);
}

void CallManager::on_terminated(HandleId handle) {
    auto it = by_handle_.find(handle);
    if (it == by_handle_.end()) return;
    Call& call = *it->second.first;
    media::Leg side = it->second.second;
    by_handle_.erase(it);
    Leg& leg = call.legs[index(side)];
    Leg& far = call.legs[index(other(side))];
    leg.gone = true;
    if (call.phase != Phase::ended) {
        // The dialog died under us (timeout, transport error): take the other leg down too.
        if (far.pending_invite) {
            stack_.respond(far.pending_invite, 500, "Server Internal Error", nullptr);
            far.pending_invite = 0;
        } else if (far.handle && !far.gone) {
            stack_.bye(far.handle);
        }
        if (call.phase != Phase::active) ++counters_.calls_failed;
    }
    end_call(call);
}

void CallManager::on_ack_timeout(HandleId handle) {
    auto it = by_handle_.find(handle);
    if (it == by_handle_.end()) return;
    Call& call = *it->second.first;
    if (call.phase == Phase::ended) return;
    // Left alone, the call would hold its relay ports and a license for good:
    // nothing else ends a dialog whose caller never confirmed it.
    ++counters_.ack_timeouts;
    spdlog::warn("sip: call {}: its 200 was never acknowledged, ending it{}", call.anchor, log_fields(call));
    for (Leg& leg : call.legs)
        if (leg.handle && !leg.gone) stack_.bye(leg.handle);
    end_call(call);
}

void CallManager::release_all() {
    std::vector<Call*> live;
    for (auto& [anchor, call] : calls_)
        if (call->phase != Phase::ended) live.push_back(call.get());
    for (Call* call : live) {
        for (Leg& leg : call->legs) {
            if (!leg.handle || leg.gone) continue;
            if (leg.pending_invite && !leg.confirmed && call->phase != Phase::active) {
                ResponseHeaders retry;
                retry.retry_after = kRetryAfterSeconds;
                stack_.respond(leg.pending_invite, 503, "Service Unavailable", nullptr, retry);
                leg.pending_invite = 0;
            } else if (leg.invite_outstanding && call->phase != Phase::active) {
                stack_.cancel(leg.handle);
            } else {
                stack_.bye(leg.handle);
            }
        }
        end_call(*call);
    }
}

}  // namespace voxfork::sip
