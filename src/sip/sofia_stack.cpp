// The one place that speaks sofia-sip: nua callbacks in, nua calls out, and
// the su_root driven from the control-plane io_context on its own thread
// (docs/architecture.md, SIP section, says why and how).
#include <arpa/inet.h>
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip_parser.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>

#include "sofia_body.hpp"
#include "sofia_screening.hpp"
#include "sofia_sockets.hpp"
#include "stack.hpp"
#include "text.hpp"

namespace asio = boost::asio;

// sofia-sip 1.12.11's transaction timer (nta.c, agent_timer) runs the client
// transactions first and, after every 5th retransmission among them, calls
// su_root_yield() "to handle received packets". A request received there
// leaves the agent's cached clock at 0 on its way out, and the server
// transactions' timers then run against 0: whenever the millisecond counter
// is past 2^31 (half of each 49.7-day cycle), every INVITE whose 200 awaits
// its ACK meets Timer H at once. nua calls that "ACK Timeout", sends BYE on
// its own, and the caller's ACK, a moment later, is "strange". Under load,
// when the far ends answer later than T1, established calls died that way
// (docs/sip.md, "Overload"). This definition takes the library's place (its
// calls go through the PLT): packets received during a timer are handled
// by the loop right after it, as every other packet is. nua's own timer
// yields once per handle too; it no longer makes one epoll_wait per handle.
extern "C" int su_root_yield(su_root_t*) {
    return 0;
}

namespace voxfork::sip {
namespace {

// Whether the library's su_root_yield calls reach the definition above: a
// link that stopped exporting it from the executable would bring the
// teardowns back silently.
bool yield_replaced() {
    return dlsym(RTLD_DEFAULT, "su_root_yield") == reinterpret_cast<void*>(&su_root_yield);
}

// What the kernel holds for the SIP socket while the loop is busy. Its
// default (net.core.rmem_default, 208 KiB) is about 150 datagrams: 20 ms of
// 1,000 calls/s. A stall longer than that, even a short one, dropped
// datagrams, ACKs and BYEs among them, and the retransmissions that followed
// added to the load. 8 MiB rides out about a second; the kernel caps the
// request at net.core.rmem_max unless the daemon may exceed it (CAP_NET_ADMIN).
constexpr unsigned udp_receive_buffer_bytes = 8u << 20;

Body body_of(sip_t const* sip) {
    return sip ? read_body(sip->sip_content_type, sip->sip_payload) : Body{};
}

// The largest SIP message taken (sofia's default is 2 MB). A forking
// request's JSON may be 64 KiB (docs/forking.md), with its headers and an SDP part
// beside it; anything larger sofia answers 413 at once, without a
// transaction, and closes a TCP connection that sent it. Over UDP no message
// is that large: there, requests outside a dialog are screened instead.
constexpr usize_t max_message_bytes = 128 * 1024;

Method method_of(nua_event_t event) {
    switch (event) {
        case nua_i_invite:
        case nua_r_invite:
            return Method::invite;
        case nua_i_ack:
            return Method::ack;
        case nua_i_bye:
        case nua_r_bye:
            return Method::bye;
        case nua_i_cancel:
        case nua_r_cancel:
            return Method::cancel;
        case nua_i_info:
        case nua_r_info:
            return Method::info;
        case nua_i_options:
        case nua_r_options:
            return Method::options;
        default:
            return Method::other;
    }
}

class SofiaStackImpl final : public SofiaStack {
public:
    SofiaStackImpl(asio::io_context& io, StackListener& listener) : io_(io), listener_(listener), timer_(io) {}

    ~SofiaStackImpl() override {
        *alive_ = false;
        for (auto& [id, pending] : pending_)
            if (pending.saved[0]) nua_destroy_event(pending.saved);
        // Still open when the daemon's stop deadline passed (a peer that never
        // answers its BYE): nua refuses to be destroyed before its shutdown
        // finished and says FATAL on stderr; the process is ending, so leave it.
        for (nua_t* nua : {nua_, nua6_})
            if (nua && shut_down_.count(nua)) nua_destroy(nua);
        // A nua left standing still parses with its class: it no longer screens.
        for (msg_mclass_t* mclass : mclasses_) stop_screening(mclass);
        close_root();
    }

    bool start(const Options& options, std::string& error) override {
        su_init();
        if (!yield_replaced())
            spdlog::error("sip: sofia's su_root_yield is not replaced: established calls may be torn down under load");
        su_port_prefer(su_epoll_port_create, su_epoll_clone_start);
        std::set<int> before = epoll_descriptors();
        root_ = su_root_create(this);
        if (!root_) {
            error = "cannot create the SIP event loop";
            return false;
        }
        // nua's stack task runs in this thread too: no thread of sofia's own.
        su_root_threading(root_, 0);
        std::set<int> created;
        for (int fd : epoll_descriptors())
            if (!before.count(fd)) created.insert(fd);
        int fd = find_root_descriptor(root_, created);
        if (fd < 0) {
            error = "cannot find the SIP event loop's descriptor";
            close_root();
            return false;
        }
        // UDP and TCP as two bind URLs, not one ";transport=udp,tcp": for a
        // list, this sofia-sip's nta_agent_add_tport keeps a pointer to an
        // array whose scope has ended and later reads whatever the stack
        // holds there (a crash at start-up that came and went with the
        // binary's layout). The second URL rides in the SIPS slot, which nua
        // binds the same way with the ident "sip" when the URL is sip:.
        // IPv6 takes a second nua on the same root (same thread, same
        // epoll descriptor): nua has two bind slots, both used above for
        // UDP and TCP, and no public way to add a transport to its agent.
        const std::string host = options.address;
        nua_ = make_nua(host, options, contacts_[0]);
        if (nua_ && options.address_ipv6) {
            const auto v6 = net::Address::parse(*options.address_ipv6);
            nua6_ = v6 ? make_nua(v6->to_uri_host(), options, contacts_[1]) : nullptr;
            if (!nua6_) {
                error = "cannot listen for SIP on [" + *options.address_ipv6 + "]:" + std::to_string(options.port);
                nua_destroy(nua_);
                nua_ = nullptr;
                close_root();
                return false;
            }
        }
        if (!nua_) {
            error = "cannot listen for SIP on " + options.address + ":" + std::to_string(options.port);
            close_root();
            return false;
        }
        // Linux reports twice what it grants (the other half is its bookkeeping).
        // Below 1 MiB (a Debian default rmem_max of 208 KiB) a stall of a few
        // tens of milliseconds at 1,000 calls/s loses datagrams.
        const int granted = udp_receive_buffer(options.port) / 2;
        if (granted < static_cast<int>(udp_receive_buffer_bytes / 8))
            spdlog::warn("sip: the UDP receive buffer is {} KiB, not the {} KiB asked for: datagrams are dropped "
                         "when the control plane stalls; raise net.core.rmem_max (docs/sip.md, \"Overload\")",
                         granted / 1024, udp_receive_buffer_bytes / 1024);
        else
            spdlog::info("sip: UDP receive buffer {} KiB", granted / 1024);
        epoll_.emplace(io_, fd);
        wait_for_events();
        step();
        return true;
    }

    double receive_queue_fill() const override {
        double fill = 0;
        for (const msg_mclass_t* mclass : mclasses_) {
            const Screener* screener = screener_of(mclass);
            if (!screener || screener->udp_fd < 0) continue;
            fill = std::max(fill, sip::receive_queue_fill(screener->udp_fd));
        }
        return fill;
    }

    void shutdown(std::function<void()> done) override {
        shutdown_done_ = std::move(done);
        if (!nua_) return finish_shutdown();
        shutdowns_left_ = nua6_ ? 2 : 1;
        for (nua_t* nua : {nua_, nua6_})
            if (nua) nua_shutdown(nua);
    }

    HandleId invite(const OutgoingInvite& invite) override {
        // An IPv6 Request-URI host leaves through the IPv6 stack (nullptr if
        // none is listening: nua then fails the INVITE like an unreachable one).
        const bool v6 = uri_says_ipv6(invite.request_uri);
        nua_handle_t* nh = nua_handle(v6 && nua6_ ? nua6_ : nua_, nullptr, SIPTAG_TO_STR(invite.to.c_str()),
                                      SIPTAG_FROM_STR(invite.from.c_str()), TAG_END());
        if (!nh) return 0;  // a From or To it cannot parse
        HandleId id = id_of(nh);
        transports_[nh] = {uri_says_tcp(invite.request_uri), v6};
        nua_invite(nh, NUTAG_URL(invite.request_uri.c_str()), SIPTAG_CONTACT_STR(contact_for(nh)),
                   SIPTAG_CONTENT_TYPE_STR(invite.body.content_type.c_str()),
                   SIPTAG_PAYLOAD_STR(invite.body.text.c_str()), TAG_END());
        return id;
    }

    void reinvite(HandleId handle, const Body& body) override {
        if (nua_handle_t* nh = handle_of(handle))
            nua_invite(nh, SIPTAG_CONTACT_STR(contact_for(nh)), SIPTAG_CONTENT_TYPE_STR(body.content_type.c_str()),
                       SIPTAG_PAYLOAD_STR(body.text.c_str()), TAG_END());
    }

    void respond(RequestId request, int status, std::string_view phrase, const Body* body,
                 const ResponseHeaders& headers) override {
        auto it = pending_.find(request);
        if (it == pending_.end()) return;
        Pending& p = it->second;
        // nua keeps the phrase pointer past this call: only static strings will do.
        (void)phrase;
        const char* reason = sip_status_phrase(status);
        if (!reason) reason = status < 300 ? "OK" : "Failed";
        const char* ct = body && !body->content_type.empty() ? body->content_type.c_str() : nullptr;
        const char* text = body ? body->text.c_str() : nullptr;
        // A dialog-making answer names the transport the dialog uses, so the
        // peer's ACK and later requests stay on it.
        const char* contact = p.invite && status < 300 ? contact_for(p.nh) : nullptr;
        const std::string retry_after = headers.retry_after ? std::to_string(headers.retry_after) : std::string();
        const auto value = [](const std::string& v) { return v.empty() ? nullptr : v.c_str(); };
        const char* warning = value(headers.warning);
        const char* cause = value(headers.reason);
        const char* retry = value(retry_after);
        nua_respond(p.nh, status, reason, TAG_IF(p.saved[0], NUTAG_WITH_SAVED(p.saved)),
                    TAG_IF(contact, SIPTAG_CONTACT_STR(contact)), TAG_IF(warning, SIPTAG_WARNING_STR(warning)),
                    TAG_IF(cause, SIPTAG_REASON_STR(cause)), TAG_IF(retry, SIPTAG_RETRY_AFTER_STR(retry)),
                    TAG_IF(ct, SIPTAG_CONTENT_TYPE_STR(ct)), TAG_IF(text, SIPTAG_PAYLOAD_STR(text)), TAG_END());
        if (status >= 200) forget_request(it);
    }

    void bye(HandleId handle) override {
        if (nua_handle_t* nh = handle_of(handle)) nua_bye(nh, TAG_END());
    }
    void cancel(HandleId handle) override {
        if (nua_handle_t* nh = handle_of(handle)) nua_cancel(nh, TAG_END());
    }
    void info(HandleId handle, const Body& body) override {
        if (nua_handle_t* nh = handle_of(handle)) {
            const char* ct = body.content_type.empty() ? nullptr : body.content_type.c_str();
            nua_info(nh, TAG_IF(ct, SIPTAG_CONTENT_TYPE_STR(ct)),
                     TAG_IF(!body.text.empty(), SIPTAG_PAYLOAD_STR(body.text.c_str())), TAG_END());
        }
    }
    void release(HandleId handle) override {
        if (nua_handle_t* nh = handle_of(handle)) destroy_handle(nh);
    }

private:
    struct Pending {
        nua_handle_t* nh = nullptr;
        bool invite = false;
        nua_saved_event_t saved[1] = {nullptr};
    };

    // How a dialog runs: over TCP or UDP, on IPv4 or IPv6 (the family of its first request).
    struct DialogTransport {
        bool tcp = false;
        bool ipv6 = false;
    };
    struct Contacts {
        std::string udp, tcp;
    };

    nua_t* make_nua(const std::string& uri_host, const Options& options, Contacts& contacts) {
        const std::string base = "sip:" + uri_host + ":" + std::to_string(options.port);
        const std::string udp_url = base + ";transport=udp";
        const std::string tcp_url = base + ";transport=tcp";
        user_agent_ = options.user_agent.empty() ? std::string("voxfork") : options.user_agent;
        const std::string& agent = user_agent_;
        msg_mclass_t* mclass = screening_mclass();
        if (!mclass) return nullptr;
        mclasses_.push_back(mclass);
        nua_t* nua = nua_create(root_, &SofiaStackImpl::callback, this, NUTAG_URL(udp_url.c_str()),
                                NUTAG_SIPS_URL(tcp_url.c_str()), NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0),
                                NUTAG_AUTOACK(1), NUTAG_AUTOALERT(0), NUTAG_APPL_METHOD("INFO"), NUTAG_ENABLEMESSAGE(0),
                                NUTAG_SESSION_TIMER(0), NUTAG_EARLY_MEDIA(0), SIPTAG_ALLOW_STR(allowed_methods),
                                NUTAG_SUPPORTED(""), SIPTAG_USER_AGENT_STR(agent.c_str()),
                                NTATAG_MAXSIZE(max_message_bytes), NTATAG_MCLASS(mclass),
                                TPTAG_UDP_RMEM(udp_receive_buffer_bytes), TAG_END());
        if (!nua) return nullptr;
        // A B2BUA answers for itself: no Supported: timer, 100rel, and the Allow we chose.
        nua_set_params(nua, SIPTAG_SUPPORTED(nullptr), NUTAG_M_FEATURES(""), TAG_END());
        contacts.udp = "<" + base + ">";
        contacts.tcp = "<" + base + ";transport=tcp>";
        // Without its socket nothing is screened: every request goes to nua as before.
        Screener screener{&listener_, &user_agent_, -1, {}, &contacts.udp};
        std::string_view bare = uri_host;  // "192.0.2.1" or "[2001:db8::1]"
        if (bare.size() > 1 && bare.front() == '[') bare = bare.substr(1, bare.size() - 2);
        if (const auto address = net::Address::parse(bare)) {
            screener.local = {*address, options.port};
            screener.udp_fd = find_socket(screener.local, std::nullopt);
        }
        if (screener.udp_fd < 0) spdlog::warn("sip: no UDP socket found on {}: requests are not screened", base);
        screen_with(mclass, screener);
        return nua;
    }

    // The Contact for the dialog of `nh`: TCP when the dialog came or went
    // over TCP, our IPv6 address (bracketed) when it runs over IPv6.
    const char* contact_for(nua_handle_t* nh) const {
        auto it = transports_.find(nh);
        const DialogTransport t = it != transports_.end() ? it->second : DialogTransport{};
        const Contacts& c = contacts_[t.ipv6 && nua6_ ? 1 : 0];
        return t.tcp ? c.tcp.c_str() : c.udp.c_str();
    }

    static bool uri_says_tcp(std::string_view uri) { return lower_case(uri).find(";transport=tcp") != std::string::npos; }
    // sip:user@[2001:db8::1]:5060: the host is an IPv6 reference.
    static bool uri_says_ipv6(std::string_view uri) {
        const auto at = uri.find('@');
        const auto host = uri.substr(at == std::string_view::npos ? uri.find(':') + 1 : at + 1);
        return !host.empty() && host.front() == '[';
    }

    // --- the event loop on the io_context --------------------------------
    void wait_for_events() {
        epoll_->async_wait(asio::posix::stream_descriptor::wait_read,
                           [this, alive = alive_](const boost::system::error_code& ec) {
                               if (ec || !*alive || !root_) return;
                               step();
                               if (root_) wait_for_events();
                           });
    }

    void step() {
        su_duration_t ms = -1;
        int rounds = 0;
        do {
            ms = su_root_step(root_, 0);
        } while (root_ && ++rounds < 64 && readable(epoll_->native_handle()));
        if (!root_ || ms < 0) return;
        // Each re-arm that moves the loop's earliest timer is a system call,
        // and this runs after every burst of SIP traffic: a timer already
        // armed to fire no later than sofia's next timeout is kept (firing
        // early costs one empty step, which re-arms for the right time).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        if (timer_armed_ && timer_.expiry() <= deadline) return;
        timer_armed_ = true;
        timer_.expires_at(deadline);  // cancels the later wait, if any
        timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
            if (ec || !*alive) return;
            timer_armed_ = false;
            if (root_) step();
        });
    }

    void close_root() {
        timer_.cancel();
        timer_armed_ = false;
        if (epoll_) {
            epoll_->cancel();
            epoll_->release();  // sofia owns the descriptor
            epoll_.reset();
        }
        if (root_) su_root_destroy(root_);
        root_ = nullptr;
    }

    void finish_shutdown() {
        for (auto& [id, pending] : pending_)
            if (pending.saved[0]) nua_destroy_event(pending.saved);
        pending_.clear();
        for (nua_t* nua : {nua_, nua6_})
            if (nua) nua_destroy(nua);
        nua_ = nua6_ = nullptr;
        for (msg_mclass_t* mclass : mclasses_) {
            stop_screening(mclass);
            std::free(mclass);
        }
        mclasses_.clear();
        ids_.clear();
        handles_.clear();
        transports_.clear();
        close_root();
        if (auto done = std::move(shutdown_done_)) done();
    }

    // --- handles and requests --------------------------------------------
    HandleId id_of(nua_handle_t* nh) {
        auto it = ids_.find(nh);
        if (it != ids_.end()) return it->second;
        HandleId id = next_handle_++;
        ids_[nh] = id;
        handles_[id] = nh;
        return id;
    }
    nua_handle_t* handle_of(HandleId id) const {
        auto it = handles_.find(id);
        return it == handles_.end() ? nullptr : it->second;
    }
    void destroy_handle(nua_handle_t* nh) {
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.nh == nh)
                it = forget_request(it);
            else
                ++it;
        }
        auto id = ids_.find(nh);
        if (id != ids_.end()) {
            handles_.erase(id->second);
            ids_.erase(id);
        }
        transports_.erase(nh);
        nua_handle_destroy(nh);
    }
    std::unordered_map<RequestId, Pending>::iterator forget_request(
        std::unordered_map<RequestId, Pending>::iterator it) {
        if (it->second.saved[0]) nua_destroy_event(it->second.saved);
        return pending_.erase(it);
    }

    // --- sofia's callback, turned into voxfork's events -------------------
    static void callback(nua_event_t event, int status, char const* phrase, nua_t* nua, nua_magic_t* magic,
                         nua_handle_t* nh, nua_hmagic_t*, sip_t const* sip, tagi_t tags[]) {
        static_cast<SofiaStackImpl*>(magic)->on_event(event, status, phrase, nua, nh, sip, tags);
    }

    void on_event(nua_event_t event, int status, char const* phrase, nua_t* nua, nua_handle_t* nh, sip_t const* sip,
                  tagi_t tags[]) {
        switch (event) {
            case nua_i_invite:
            case nua_i_info:
            case nua_i_options:
            case nua_i_ack:
            case nua_i_bye:
            case nua_i_cancel:
                return incoming(event, nua, nh, sip);
            case nua_r_invite:
            case nua_r_info:
            case nua_r_bye:
            case nua_r_cancel: {
                if (!nh || !ids_.count(nh)) return;
                Response r;
                r.method = method_of(event);
                r.handle = ids_[nh];
                r.status = status;
                r.phrase = phrase ? phrase : "";
                r.body = body_of(sip);
                return listener_.on_response(r);
            }
            case nua_i_state: {
                int state = nua_callstate_init;
                tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
                if (state != nua_callstate_terminated || !nh) return;
                auto it = ids_.find(nh);
                if (it != ids_.end()) listener_.on_terminated(it->second);
                destroy_handle(nh);
                return;
            }
            case nua_r_shutdown:
                if (status < 200) return;
                shut_down_.insert(nua);
                if (--shutdowns_left_ == 0)
                    asio::post(io_, [this, alive = alive_] {
                        if (*alive) finish_shutdown();
                    });
                return;
            case nua_i_error:
                // sofia's word for a 2xx it retransmitted for 32 s without an ACK.
                if (status == 408 && nh && ids_.count(nh)) return listener_.on_ack_timeout(ids_[nh]);
                spdlog::warn("sip: stack error {} {}", status, phrase ? phrase : "");
                return;
            default:
                return;
        }
    }

    void incoming(nua_event_t event, nua_t* nua, nua_handle_t* nh, sip_t const* sip) {
        if (!nh) return;
        IncomingRequest r;
        r.method = method_of(event);
        r.handle = id_of(nh);
        if (event == nua_i_invite || event == nua_i_info) {
            RequestId id = next_request_++;
            Pending& p = pending_[id];
            p.nh = nh;
            p.invite = event == nua_i_invite;
            // INVITEs are answered on the handle; other requests later need the saved event.
            if (event != nua_i_invite) nua_save_event(nua, p.saved);
            r.request = id;
        }
        if (sip) {
            if (sip->sip_call_id && sip->sip_call_id->i_id) r.call_id = sip->sip_call_id->i_id;
            r.transaction = r.call_id;
            if (sip->sip_cseq)
                r.transaction += " " + std::to_string(sip->sip_cseq->cs_seq) + " " +
                                 (sip->sip_cseq->cs_method_name ? sip->sip_cseq->cs_method_name : "");
            if (sip->sip_via && sip->sip_via->v_branch) r.transaction += std::string(" ") + sip->sip_via->v_branch;
            if (sip->sip_request && sip->sip_request->rq_url->url_user)
                r.request_user = sip->sip_request->rq_url->url_user;
            if (sip->sip_contact && sip->sip_contact->m_url->url_params) {
                char transport[16] = "";
                if (url_param(sip->sip_contact->m_url->url_params, "transport", transport, sizeof transport) > 0)
                    r.contact_transport = lower_case(transport);
            }
            if (sip->sip_from) {
                if (sip->sip_from->a_url->url_user) r.from_user = sip->sip_from->a_url->url_user;
                if (sip->sip_from->a_display) r.from_display = display_name(sip->sip_from->a_display);
            }
            r.body = body_of(sip);
        }
        if (msg_t* msg = nua_current_request(nua)) {
            su_addrinfo_t* ai = msg_addrinfo(msg);
            if (ai && ai->ai_addr)
                if (const auto source = net::Endpoint::from_sockaddr(ai->ai_addr)) {
                    r.source.ip = source->address;
                    r.source.port = source->port;
                    r.source.tcp = ai->ai_protocol == IPPROTO_TCP;
                }
        }
        // The dialog's transport is the one its first request came over.
        if (event == nua_i_invite && !transports_.count(nh)) transports_[nh] = {r.source.tcp, r.source.ip.is_v6()};
        listener_.on_request(r);
    }

    asio::io_context& io_;
    StackListener& listener_;
    asio::steady_timer timer_;
    bool timer_armed_ = false;  // a wait on timer_ is pending
    std::optional<asio::posix::stream_descriptor> epoll_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    su_root_t* root_ = nullptr;
    nua_t* nua_ = nullptr;   // IPv4: the control address
    nua_t* nua6_ = nullptr;  // IPv6, when an IPv6 control address is configured
    int shutdowns_left_ = 0;
    std::unordered_map<nua_handle_t*, HandleId> ids_;
    std::unordered_map<HandleId, nua_handle_t*> handles_;
    std::unordered_map<RequestId, Pending> pending_;
    std::unordered_map<nua_handle_t*, DialogTransport> transports_;  // how each dialog runs
    Contacts contacts_[2];                                            // [0] IPv4, [1] IPv6
    HandleId next_handle_ = 1;
    RequestId next_request_ = 1;
    std::function<void()> shutdown_done_;
    std::set<nua_t*> shut_down_;  // the stacks whose nua_r_shutdown's final answer came
    std::string user_agent_;
    std::vector<msg_mclass_t*> mclasses_;  // each nua's message class (see Screener), freed with the nuas
};

}  // namespace

std::unique_ptr<SofiaStack> SofiaStack::create(asio::io_context& io, StackListener& listener) {
    return std::make_unique<SofiaStackImpl>(io, listener);
}

}  // namespace voxfork::sip
