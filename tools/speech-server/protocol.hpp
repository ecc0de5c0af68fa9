// A wire protocol as the speech server speaks it. The transport (server.cpp:
// listener, TLS, upgrade, WebSocket frames, fault modes) knows no protocol;
// each protocol is one small unit behind this face, made per connection:
// voxfork_v1.cpp (docs/speech-server-protocol.md), audiohook.cpp and raw.cpp (docs/stream.md). A
// protocol judges the upgrade, checks and records every message and frame,
// and answers through Replies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "recorder.hpp"

namespace speech {

// The client's upgrade request, as the protocol needs it.
struct Upgrade {
    std::string target;       // path and query, as in the request line
    nlohmann::json headers;   // lower-case name → value (repeats joined with ", ")
};

// The protocol's answer to an upgrade.
struct Verdict {
    int status = 0;           // 0: accept; else the HTTP status refusing it
    std::string reason;       // why it was refused (the rejected event, the body)
    std::string subprotocol;  // Sec-WebSocket-Protocol to answer when accepting ("": none)
};

// What a protocol may send on its connection.
class Replies {
public:
    virtual ~Replies() = default;
    virtual void send_text(std::string text) = 0;
};

class Protocol {
public:
    virtual ~Protocol() = default;
    virtual Verdict judge(const Upgrade& upgrade) = 0;
    // The upgrade was answered 101: the WebSocket is open.
    virtual void on_accepted() {}
    virtual void on_text(std::string_view text) = 0;
    // Returns the frame's channel id (0 when the frame names none).
    virtual std::uint32_t on_binary(const std::uint8_t* data, std::size_t size) = 0;
    // --stop-channel-after-frames: the server ends `channel` itself. Returns the
    // text to send for it, or nothing when the protocol has no such message.
    virtual std::optional<std::string> server_stop(std::uint32_t channel, const std::string& reason) = 0;
    // --pause-after-frames: the server asks the client to pause (or, later, to
    // resume). The text to send, or nothing when the protocol cannot ask.
    virtual std::optional<std::string> server_pause(bool resume) {
        (void)resume;
        return std::nullopt;
    }
    // The connection is gone: completes its channels' files and returns the
    // channels the client never ended.
    virtual std::vector<std::uint32_t> on_close() = 0;
    // Audio (binary) frames received on the connection.
    virtual std::uint64_t frames() const = 0;
};

std::unique_ptr<Protocol> make_voxfork_v1(const Options& options, Recorder& recorder, std::uint64_t conn);
std::unique_ptr<Protocol> make_audiohook(const Options& options, Recorder& recorder, std::uint64_t conn,
                                         Replies& replies);
std::unique_ptr<Protocol> make_raw(const Options& options, Recorder& recorder, std::uint64_t conn,
                                   Replies& replies);

inline std::unique_ptr<Protocol> make_protocol(const Options& options, Recorder& recorder, std::uint64_t conn,
                                               Replies& replies) {
    switch (options.protocol) {
        case ProtocolName::audiohook:
            return make_audiohook(options, recorder, conn, replies);
        case ProtocolName::raw:
            return make_raw(options, recorder, conn, replies);
        case ProtocolName::voxfork_v1:
            break;
    }
    return make_voxfork_v1(options, recorder, conn);
}

// Shared by the protocols' upgrade checks.
std::string header(const Upgrade& upgrade, const char* name);  // "" when absent
// Whether a comma-separated header value lists `item`.
bool lists(std::string_view header_value, std::string_view item);

}  // namespace speech
