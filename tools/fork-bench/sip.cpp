#include "sip.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace forkbench {
namespace {

constexpr std::uint64_t ms = 1000000;

// A received SIP message, viewed in place.
struct Message {
    std::string_view first, head, body;

    explicit Message(std::string_view text) {
        auto end = text.find("\r\n\r\n");
        head = text.substr(0, end);
        body = end == text.npos ? std::string_view{} : text.substr(end + 4);
        first = head.substr(0, head.find("\r\n"));
    }
    bool request() const { return first.substr(0, 8) != "SIP/2.0 "; }
    int status() const { return request() ? 0 : std::atoi(std::string(first.substr(8, 3)).c_str()); }
    // Every header line named `name` (or its compact form), whole lines.
    template <class F>
    void each(std::string_view name, char compact, F f) const {
        for (std::size_t pos = first.size() + 2; pos < head.size();) {
            auto eol = head.find("\r\n", pos);
            auto line = head.substr(pos, eol == head.npos ? head.npos : eol - pos);
            pos = eol == head.npos ? head.size() : eol + 2;
            auto colon = line.find(':');
            if (colon == line.npos) continue;
            auto key = line.substr(0, colon);
            while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
            bool match = key.size() == name.size();
            for (std::size_t i = 0; match && i < key.size(); ++i)
                match = std::tolower(static_cast<unsigned char>(key[i])) ==
                        std::tolower(static_cast<unsigned char>(name[i]));
            if (match || (key.size() == 1 && std::tolower(static_cast<unsigned char>(key[0])) == compact))
                f(line, colon);
        }
    }
    std::string value(std::string_view name, char compact) const {
        std::string out;
        each(name, compact, [&](std::string_view line, std::size_t colon) {
            if (!out.empty()) return;
            auto v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            out = v;
        });
        return out;
    }
};

std::uint16_t sdp_port(std::string_view body) {
    auto at = body.find("m=audio ");
    return at == body.npos ? 0 : static_cast<std::uint16_t>(std::atoi(std::string(body.substr(at + 8, 6)).c_str()));
}

std::string sdp(const char* who, unsigned id, std::uint16_t port) {
    return "v=0\r\no=" + std::string(who) + " " + std::to_string(id) +
           " 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + std::to_string(port) +
           " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n";
}

int udp_socket(std::uint16_t& port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) throw std::runtime_error("socket");
    int size = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

}  // namespace

struct Sip::Impl {
    enum class State { idle, inviting, info, forked, byeing, done, failed };
    struct Call {
        State state = State::idle;
        std::string to, target, pending;  // pending: the request being retransmitted
        std::uint64_t first_sent = 0, sent_at = 0;
        unsigned tries = 0;
        bool provisional = false;
    };
    struct Leg {
        std::string answer;      // our 200, resent on a retransmitted INVITE
        std::uint16_t port = 0;  // voxforkd's relay port for this leg (its SDP)
    };

    SipOptions options;
    Media& media;
    int uac = -1, uas = -1;
    std::uint16_t uac_port = 0, uas_port = 0;
    sockaddr_in daemon{};
    std::vector<Call> calls;
    std::unordered_map<std::string, unsigned> legs_by_call_id;
    std::vector<Leg> legs;
    std::thread thread;
    std::atomic<bool> running{false};
    std::atomic<double> bye_rate{0};
    std::atomic<unsigned> answered{0}, callee_legs{0}, started{0}, other_status{0}, failed{0}, ended{0}, byes{0},
        retransmits{0};

    Impl(const SipOptions& o, Media& m) : options(o), media(m), uas_port(o.uas_port), calls(o.calls) {
        uac = udp_socket(uac_port);
        uas = udp_socket(uas_port);
        daemon.sin_family = AF_INET;
        daemon.sin_port = htons(o.daemon_port);
        daemon.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    ~Impl() {
        close(uac);
        close(uas);
    }

    std::string call_id(unsigned i) const {
        return "fb" + std::to_string(i) + "." + std::to_string(getpid()) + "@127.0.0.1";
    }
    std::string local(std::uint16_t port) const { return "127.0.0.1:" + std::to_string(port); }

    void send(int fd, const std::string& text, const sockaddr_in& to) {
        sendto(fd, text.data(), text.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }

    // A request of the caller's dialog; CSeq n, the To (with tag once known).
    std::string request(unsigned i, const char* method, unsigned cseq, const std::string& uri, const std::string& to,
                        const std::string& type = {}, const std::string& body = {}) const {
        std::string text = std::string(method) + " " + uri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local(uac_port) +
                           ";branch=z9hG4bK-fb" + std::to_string(i) + "-" + std::to_string(cseq) + method +
                           ";rport\r\nMax-Forwards: 70\r\nFrom: \"bench\" <sip:1000@" + local(uac_port) + ">;tag=c" +
                           std::to_string(i) + "\r\nTo: " + to + "\r\nCall-ID: " + call_id(i) +
                           "\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\nContact: <sip:1000@" +
                           local(uac_port) + ">\r\n";
        if (!type.empty()) text += "Content-Type: " + type + "\r\n";
        return text + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }

    void transact(unsigned i, State state, std::string text) {
        Call& c = calls[i];
        c.state = state;
        c.pending = std::move(text);
        c.tries = 0;
        c.provisional = false;
        c.first_sent = c.sent_at = now_ns();
        send(uac, c.pending, daemon);
    }

    void invite(unsigned i) {
        std::string uri = "sip:6777@" + local(options.daemon_port);
        transact(
            i, State::inviting,
            request(i, "INVITE", 1, uri, "<" + uri + ">", "application/sdp", sdp("bench", i, media.port(caller_side))));
    }

    void start_fork(unsigned i) {
        char guid[40];
        std::snprintf(guid, sizeof guid, "FB%030u", i);
        std::string body = std::string("{\"action\":\"START\",\"call-guid\":\"") + guid +
                           "\",\"host\":\"127.0.0.1\",\"port\":" + std::to_string(options.speech_port) +
                           ",\"secure\":false,\"path\":\"/bench\"" +
                           (options.token.empty() ? "" : ",\"token\":\"" + options.token + "\"") + "}";
        transact(i, State::info,
                 request(i, "INFO", 2, calls[i].target, calls[i].to, "application/x-cisco-record+json", body));
    }

    void bye(unsigned i) {
        media.set_destination(caller_side, i, 0);
        ++byes;
        transact(i, State::byeing, request(i, "BYE", 3, calls[i].target, calls[i].to));
    }

    // An answer to a request voxforkd sent (its INVITE, status INFOs, BYE).
    void answer(int fd, const char* status, const Message& m, const sockaddr_in& from, const std::string& to_tag = {},
                const std::string& extra = {}, const std::string& body = {}) {
        std::string text = std::string("SIP/2.0 ") + status + "\r\n";
        m.each("Via", 'v', [&](std::string_view line, std::size_t) { text.append(line).append("\r\n"); });
        std::string to = m.value("To", 't');
        if (!to_tag.empty() && to.find(";tag=") == std::string::npos) to += ";tag=" + to_tag;
        text += "From: " + m.value("From", 'f') + "\r\nTo: " + to + "\r\nCall-ID: " + m.value("Call-ID", 'i') +
                "\r\nCSeq: " + m.value("CSeq", '\0') + "\r\n" + extra +
                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        if (capture) *capture = text;
        send(fd, text, from);
    }

    void on_caller(const Message& m, const sockaddr_in& from) {
        std::string cid = m.value("Call-ID", 'i');
        unsigned i = static_cast<unsigned>(std::atoi(cid.c_str() + 2));
        if (cid.rfind("fb", 0) != 0 || i >= calls.size()) return;
        Call& c = calls[i];
        if (m.request()) {
            if (m.first.substr(0, 3) == "ACK") return;
            answer(uac, "200 OK", m, from);
            if (m.first.substr(0, 4) == "INFO" && c.state != State::done) {
                if (m.body.find("\"STARTED\"") != m.body.npos) {
                    if (c.state != State::forked) ++started;
                    c.state = State::forked;
                } else {
                    ++other_status;
                }
            }
            return;
        }
        std::string cseq = m.value("CSeq", '\0');
        int code = m.status();
        if (cseq.find("INVITE") != cseq.npos) {
            if (code < 200) {
                c.provisional = true;
            } else if (code < 300) {
                bool first = c.state == State::inviting;
                c.to = m.value("To", 't');
                std::string contact = m.value("Contact", 'm');
                auto lt = contact.find('<');
                c.target = lt == contact.npos ? contact.substr(0, contact.find(';'))
                                              : contact.substr(lt + 1, contact.find('>') - lt - 1);
                send(uac, request(i, "ACK", 1, c.target, c.to), daemon);
                if (first) {
                    ++answered;
                    media.set_destination(caller_side, i, sdp_port(m.body));
                    if (options.fork) {
                        start_fork(i);
                    } else {
                        c.state = State::forked;
                        ++started;
                    }
                }
            } else if (c.state == State::inviting) {
                send(uac, request(i, "ACK", 1, "sip:6777@" + local(options.daemon_port), m.value("To", 't')), daemon);
                fail(c, i, m.first);
            }
        } else if (code >= 200 && cseq.find("INFO") != cseq.npos && c.state == State::info) {
            c.pending.clear();
            if (code >= 300) fail(c, i, m.first);
        } else if (code >= 200 && cseq.find("BYE") != cseq.npos && c.state == State::byeing) {
            c.pending.clear();
            c.state = State::done;
            ++ended;
        }
    }

    void on_callee(const Message& m, const sockaddr_in& from) {
        std::string cid = m.value("Call-ID", 'i');
        auto method = m.first.substr(0, m.first.find(' '));
        if (!m.request()) return;
        auto it = legs_by_call_id.find(cid);
        if (method == "INVITE") {
            if (it != legs_by_call_id.end()) {  // a retransmission
                send(uas, legs[it->second].answer, from);
                return;
            }
            if (legs.size() >= calls.size()) return;
            unsigned leg = static_cast<unsigned>(legs.size());
            legs_by_call_id.emplace(cid, leg);
            legs.emplace_back();
            ++callee_legs;
            std::string tag = "u" + std::to_string(leg);
            media.set_destination(callee_side, leg, 0);
            // 180 then 200, both with our tag; the RTP starts at the ACK.
            answer(uas, "180 Ringing", m, from, tag);
            legs[leg].port = sdp_port(m.body);
            std::string contact = "Contact: <sip:6777@" + local(uas_port) + ">\r\nContent-Type: application/sdp\r\n";
            capture = &legs[leg].answer;
            answer(uas, "200 OK", m, from, tag, contact, sdp("agent", leg, media.port(callee_side)));
            capture = nullptr;
            return;
        }
        if (method == "ACK") {
            if (it != legs_by_call_id.end()) media.set_destination(callee_side, it->second, legs[it->second].port);
            return;
        }
        if (method == "BYE" && it != legs_by_call_id.end()) media.set_destination(callee_side, it->second, 0);
        answer(uas, "200 OK", m, from);
    }

    // The first few failures are told on stderr, with the answer that caused them.
    void fail(Call& c, unsigned i, std::string_view why) {
        c.state = State::failed;
        c.pending.clear();
        if (++failed <= 5) std::fprintf(stderr, "fork-bench: call %u failed: %.*s\n", i, int(why.size()), why.data());
    }

    // UDP: a request is resent after 0.5, 1, 2, 4, 4... s until answered; 1xx
    // stops an INVITE's resends; 32 s without a final answer fails the call.
    void retransmit() {
        std::uint64_t now = now_ns();  // after this pass's sends: no sent_at is later
        for (auto& c : calls) {
            if (c.pending.empty()) continue;
            if (now - c.first_sent > 32000 * ms) {
                fail(c, static_cast<unsigned>(&c - calls.data()), "no final answer in 32 s");
                continue;
            }
            if (c.provisional) continue;
            std::uint64_t wait = (500 * ms) << (c.tries < 3 ? c.tries : 3);
            if (now - c.sent_at >= wait) {
                ++c.tries;
                c.sent_at = now;
                ++retransmits;
                send(uac, c.pending, daemon);
            }
        }
    }

    void drain(int fd, bool caller) {
        char buf[65536];
        for (;;) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) return;
            Message m(std::string_view(buf, static_cast<std::size_t>(n)));
            if (caller)
                on_caller(m, from);
            else
                on_callee(m, from);
        }
    }

    void run() {
        pollfd pfd[2] = {{uac, POLLIN, 0}, {uas, POLLIN, 0}};
        std::uint64_t t0 = now_ns(), last_sweep = t0, bye_t0 = 0;
        unsigned next_invite = 0, next_bye = 0;
        while (running) {
            poll(pfd, 2, 1);
            drain(uac, true);
            drain(uas, false);
            std::uint64_t now = now_ns();
            while (next_invite < calls.size() &&
                   now >= t0 + static_cast<std::uint64_t>(next_invite * 1e9 / options.calls_per_second))
                invite(next_invite++);
            if (double rate = bye_rate.load(); rate > 0) {
                if (bye_t0 == 0) bye_t0 = now;
                while (next_bye < calls.size() && now >= bye_t0 + static_cast<std::uint64_t>(next_bye * 1e9 / rate)) {
                    Call& c = calls[next_bye];
                    if (!c.target.empty() && c.state != State::inviting) bye(next_bye);
                    ++next_bye;
                }
            }
            if (now - last_sweep > 20 * ms) {
                retransmit();
                last_sweep = now;
            }
        }
    }

    std::string* capture = nullptr;  // answer() also stores its text here when set
};

Sip::Sip(const SipOptions& options, Media& media) : impl_(std::make_unique<Impl>(options, media)) {}
Sip::~Sip() {
    stop();
}

void Sip::start() {
    impl_->running = true;
    impl_->thread = std::thread([this] { impl_->run(); });
}

void Sip::hang_up(double calls_per_second) {
    impl_->bye_rate = calls_per_second;
}

SipCounts Sip::counts() const {
    return {impl_->answered, impl_->callee_legs, impl_->started, impl_->other_status,
            impl_->failed,   impl_->ended,       impl_->byes,    impl_->retransmits};
}

void Sip::stop() {
    impl_->running = false;
    if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace forkbench
