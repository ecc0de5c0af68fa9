// The screening of requests outside a dialog, in sofia's parser (see the header).
#include "sofia_screening.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string_view>
#include <unordered_map>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_parser.h>
#include <sofia-sip/sip_status.h>

#include "sofia_sockets.hpp"

namespace voxfork::sip {
namespace {

// The To tag of every stateless answer starts so: the ACK of such an answer
// is let go as it arrives.
constexpr std::string_view stateless_tag_prefix = "vxsl";

std::unordered_map<const msg_mclass_t*, Screener>& screeners() {
    static std::unordered_map<const msg_mclass_t*, Screener> all;
    return all;
}

Method method_of(sip_method_t method) {
    switch (method) {
        case sip_method_invite:
            return Method::invite;
        case sip_method_ack:
            return Method::ack;
        case sip_method_bye:
            return Method::bye;
        case sip_method_cancel:
            return Method::cancel;
        case sip_method_info:
            return Method::info;
        case sip_method_options:
            return Method::options;
        default:
            return Method::other;
    }
}

// A stateless answer (RFC 3261 8.2.7): the request's Via, the top one
// with received= and rport= (RFC 3581), From, To with a tag made from the
// request (its retransmission gets the same), Call-ID, CSeq; sent from the
// socket it came in on to where it came from, never retransmitted.
void answer_statelessly(const Screener& s, int fd, const su_addrinfo_t& ai, const net::Endpoint& source,
                        const sip_t* sip, int status) {
    auto* home = static_cast<su_home_t*>(su_home_new(sizeof(su_home_t)));
    if (!home) return;
    const auto text = [home](const void* header) {
        const char* t = sip_header_as_string(home, static_cast<const sip_header_t*>(header));
        return std::string(t ? t : "");
    };
    const char* phrase = sip_status_phrase(status);
    std::string out = "SIP/2.0 " + std::to_string(status) + " " + (phrase ? phrase : "Failed") + "\r\n";
    auto* top =
        reinterpret_cast<sip_via_t*>(msg_header_copy_one(home, reinterpret_cast<const msg_header_t*>(sip->sip_via)));
    if (top) {
        const std::string received = "received=" + source.address.to_string();
        msg_header_replace_param(home, top->v_common, received.c_str());
        if (top->v_rport) {
            const std::string rport = "rport=" + std::to_string(source.port);
            msg_header_replace_param(home, top->v_common, rport.c_str());
        }
        out += "Via: " + text(top) + "\r\n";
    }
    for (const sip_via_t* via = sip->sip_via->v_next; via; via = via->v_next) out += "Via: " + text(via) + "\r\n";
    out += "From: " + text(sip->sip_from) + "\r\n";
    const std::string call_id = sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "";
    const std::string from_tag = sip->sip_from->a_tag ? sip->sip_from->a_tag : "";
    char tag[32];
    std::snprintf(tag, sizeof tag, "%.*s%016zx", static_cast<int>(stateless_tag_prefix.size()),
                  stateless_tag_prefix.data(),
                  std::hash<std::string>{}(call_id + ";" + from_tag + ";" + std::to_string(sip->sip_cseq->cs_seq)));
    out += "To: " + text(sip->sip_to) + ";tag=" + tag + "\r\n";
    out += "Call-ID: " + text(sip->sip_call_id) + "\r\n";
    out += "CSeq: " + text(sip->sip_cseq) + "\r\n";
    if (s.user_agent) out += "User-Agent: " + *s.user_agent + "\r\n";
    if (status < 300 && s.contact) out += "Contact: " + *s.contact + "\r\nAccept: application/sdp\r\n";
    out += std::string("Allow: ") + allowed_methods + "\r\nContent-Length: 0\r\n\r\n";
    su_home_unref(home);
    // A full socket buffer drops it, as the network may: the peer asks again.
    if (ai.ai_protocol == IPPROTO_TCP)
        (void)::send(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    else
        (void)::sendto(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL, ai.ai_addr,
                       static_cast<socklen_t>(ai.ai_addrlen));
}

// A request parsed up to its body, over the nua `s` screens for: true
// when it was answered (or let go) here and the stack must drop it.
bool screen(const Screener& s, msg_t* msg, sip_t* sip, isize_t unparsed) {
    su_addrinfo_t* ai = msg_addrinfo(msg);
    if (s.udp_fd < 0 || !s.listener || !ai || !ai->ai_addr) return false;
    const bool tcp = ai->ai_protocol == IPPROTO_TCP;
    if (!tcp && ai->ai_protocol != IPPROTO_UDP) return false;
    // What an answer is made of; a request without it is nta's to refuse.
    if (!sip->sip_via || !sip->sip_from || !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq) return false;
    const Method method = method_of(sip->sip_request->rq_method);
    if (const char* tag = sip->sip_to->a_tag)  // in a dialog, or the ACK of a stateless answer
        return method == Method::ack &&
               std::string_view(tag).substr(0, stateless_tag_prefix.size()) == stateless_tag_prefix;
    const auto source = net::Endpoint::from_sockaddr(ai->ai_addr);
    if (!source) return false;
    Arrival arrival;
    arrival.method = method;
    arrival.source = {source->address, source->port, tcp};
    // Over TCP the body may not be here yet: its Content-Length says how large the message is.
    const std::size_t headers = msg_size(msg);
    arrival.bytes = headers + static_cast<std::size_t>(unparsed);
    if (sip->sip_content_length)
        arrival.bytes = std::max<std::size_t>(arrival.bytes, headers + 2 + sip->sip_content_length->l_length);
    arrival.call_id = sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "";
    const int status = s.listener->screen(arrival);
    if (status == 0) return false;
    if (status > 0) {
        const int fd = tcp ? find_socket(s.local, source) : s.udp_fd;
        if (fd >= 0) answer_statelessly(s, fd, *ai, *source, sip, status);
    }
    // Over its limit sofia would answer 413 before looking at the error.
    msg_zap_flags(msg, MSG_FLG_TOOLARGE);
    return true;
}

// The message class's body step: called at the empty line, then for the body.
issize_t screen_at_body(msg_t* msg, msg_pub_t* pub, char b[], isize_t bsiz, int eos) {
    auto* sip = reinterpret_cast<sip_t*>(pub);
    // The first call comes at the empty line, before any of the body is taken.
    if (!(sip->sip_flags & MSG_FLG_BODY) && sip->sip_request) {
        const Screener* s = screener_of(msg_mclass(msg));
        if (s && screen(*s, msg, sip, bsiz)) {
            // An error and no Via: nta drops the request without a word and
            // without a transaction (nta.c, agent_recv_request).
            if (sip->sip_via) msg_header_remove_all(msg, pub, reinterpret_cast<msg_header_t*>(sip->sip_via));
            return -1;
        }
    }
    return sip_extract_body(msg, sip, b, bsiz, eos);
}

}  // namespace

msg_mclass_t* screening_mclass() {
    msg_mclass_t* mclass = msg_mclass_clone(sip_default_mclass(), 0, 0);
    if (mclass) mclass->mc_extract_body = &screen_at_body;
    return mclass;
}

void screen_with(const msg_mclass_t* mclass, const Screener& screener) { screeners()[mclass] = screener; }

void stop_screening(const msg_mclass_t* mclass) { screeners().erase(mclass); }

const Screener* screener_of(const msg_mclass_t* mclass) {
    const auto it = screeners().find(mclass);
    return it == screeners().end() ? nullptr : &it->second;
}

}  // namespace voxfork::sip
