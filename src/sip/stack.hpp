// The seam between the B2BUA and the SIP stack. The sofia-sip adapter
// (sofia_stack.cpp) is the only implementation that touches sofia; the B2BUA
// sees plain C++ values and is unit-tested against a fake of this interface.
#pragma once

#include <optional>

#include "voxfork/net.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace voxfork::sip {

using HandleId = std::uint64_t;   // one dialog (or one out-of-dialog request) in the stack
using RequestId = std::uint64_t;  // an incoming request that waits for our answer; 0: none

struct BodyPart {
    std::string content_type;  // lower case, without parameters
    std::string text;
};

// A message body; a multipart/mixed body comes split into its parts.
struct Body {
    std::string content_type;  // lower case, without parameters; empty when there is no body
    std::string text;
    std::vector<BodyPart> parts;  // filled for multipart bodies only
    bool malformed = false;       // multipart that could not be split
    bool empty() const { return text.empty() && parts.empty(); }
    // The text of the first part of that type (the body itself when it is not multipart).
    const std::string* find(std::string_view type) const;
    // How many parts (or the body itself) are of that type.
    std::size_t count(std::string_view type) const;
};

enum class Method { invite, ack, bye, cancel, info, options, other };

struct Address {
    net::Address ip;  // either family
    std::uint16_t port = 0;
    bool tcp = false;
    std::string to_string() const;  // "127.0.0.1:5060", "[::1]:5060"
};

// Headers a final answer may carry besides its status line and body.
struct ResponseHeaders {
    std::string warning;       // a Warning value: `305 agent "text"` (RFC 3261 20.43)
    std::string reason;        // a Reason value: `SIP;cause=503;text="..."` (RFC 3326)
    unsigned retry_after = 0;  // seconds; 0: no Retry-After
    bool empty() const { return warning.empty() && reason.empty() && retry_after == 0; }
};

// A display name as the header carries it (`"Alice \"A\" Smith"`) as the
// name itself (`Alice "A" Smith`): quotes and quoted-pair escapes removed
// (RFC 3261 section 25.1); a token-form name is returned as it is.
std::string display_name(std::string_view header_text);

struct IncomingRequest {
    Method method = Method::other;
    HandleId handle = 0;
    RequestId request = 0;     // set when the B2BUA must answer (INVITE, INFO, ...)
    std::string call_id;       // the SIP Call-ID
    std::string transaction;   // Call-ID, CSeq and Via branch: same for retransmissions
    std::string request_user;  // user part of the Request-URI (the called number)
    std::string from_user;
    std::string from_display;  // the display name itself (display_name())
    std::string contact_transport;  // the Contact's transport parameter, lower case; empty when it names none
    Address source;
    Body body;
};

// A request outside any dialog as it arrives (UDP or TCP): seen while sofia
// parses it, at the end of its headers, before nta makes a transaction or
// nua a handle for it.
struct Arrival {
    Method method = Method::other;
    Address source;            // its `tcp` says the transport
    std::size_t bytes = 0;     // the whole message (over TCP, as its Content-Length announces it)
    std::string_view call_id;  // for the log line
};

inline constexpr int kDropSilently = -1;

struct Response {
    Method method = Method::other;
    HandleId handle = 0;
    int status = 0;
    std::string phrase;
    Body body;
};

// What the stack reports to the B2BUA. Called on the control-plane thread.
class StackListener {
public:
    virtual ~StackListener() = default;
    virtual void on_request(const IncomingRequest& request) = 0;
    virtual void on_response(const Response& response) = 0;
    // The stack is done with this handle; its id is never used again.
    virtual void on_terminated(HandleId handle) = 0;
    // The 2xx this handle's INVITE was answered with got no ACK for 64*T1
    // (32 s): the dialog stands, but RFC 3261 13.3.1.4 says end the session.
    virtual void on_ack_timeout(HandleId handle) = 0;
    // The status to answer `arrival` with at once, statelessly (RFC 3261
    // 8.2.7: nothing of it is kept, no answer is retransmitted), 0 for the
    // stack to take it like any other request, kDropSilently to let it go
    // unanswered.
    virtual int screen(const Arrival& arrival) {
        (void)arrival;
        return 0;
    }
};

struct OutgoingInvite {
    std::string request_uri;  // sip:6777@127.0.0.1:7052;transport=tcp
    std::string from;         // a full From value
    std::string to;
    Body body;
};

class Stack {
public:
    virtual ~Stack() = default;
    // A new dialog: sends the INVITE and returns its handle (0 when the
    // request could not be built).
    virtual HandleId invite(const OutgoingInvite& invite) = 0;
    // A re-INVITE on an established dialog.
    virtual void reinvite(HandleId handle, const Body& body) = 0;
    // Answers an incoming request (body may be null). A final answer ends the request.
    virtual void respond(RequestId request, int status, std::string_view phrase, const Body* body,
                         const ResponseHeaders& headers = {}) = 0;
    virtual void bye(HandleId handle) = 0;
    virtual void cancel(HandleId handle) = 0;
    virtual void info(HandleId handle, const Body& body) = 0;
    // Gives up a handle that never became a dialog (out-of-dialog request answered).
    virtual void release(HandleId handle) = 0;
};

// The sofia-sip stack, driven on `io` (see docs/architecture.md, SIP section).
class SofiaStack : public Stack {
public:
    struct Options {
        std::string address = "127.0.0.1";
        std::optional<std::string> address_ipv6;  // also listen there (UDP and TCP, same port)
        std::uint16_t port = 5060;
        std::string user_agent;
    };
    static std::unique_ptr<SofiaStack> create(boost::asio::io_context& io, StackListener& listener);
    // Binds UDP and TCP; false with `error` when the port can't be had.
    virtual bool start(const Options& options, std::string& error) = 0;
    // Ends every transaction, then frees the stack; `done` runs on the io_context.
    virtual void shutdown(std::function<void()> done) = 0;
    // How full the fullest of its UDP sockets' receive queues is (0-1): what
    // waits there has not been read, however punctually the loop runs.
    virtual double receive_queue_fill() const = 0;
};

}  // namespace voxfork::sip
