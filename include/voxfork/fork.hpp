// The fork part: forking requests (parse, validate), each call's fork state
// machine, the tee from the relay's tap to a connection's audio sink, status
// INFOs and license counts (../shared/spec/forking.md, wire.md, operations.md).
//
// The fork part sees SIP, the WebSocket pool and the relay only through the
// small interfaces below (CallPort, ForkTransport, FrameSink, TapControl); the
// daemon implements them as thin adapters over sip.hpp, ws.hpp and media.hpp.
//
// Threads: everything runs on the control-plane thread, except FrameSink::send,
// which the tee calls from the media packet thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxfork/media.hpp"

namespace voxfork::fork {

// The operator's call number of a leg; a call is named by its anchor (inbound) leg.
using CallId = std::uint64_t;

enum class Carrier { info, reinvite };

// A forking request as the B2BUA handed it over (INFO already answered 200).
struct Request {
    CallId anchor = 0;
    CallId leg = 0;                   // the leg it came on: status INFOs go there
    media::Leg side = media::Leg::a;  // which leg of the call that is
    Carrier carrier = Carrier::info;
    std::string json;         // the application/x-cisco-record+json body
    std::string transaction;  // same value for a retransmission of one SIP transaction
    std::string sip_call_id;  // Call-ID of that leg (the START's `call-id`)
    std::size_t json_parts = 1;       // more than one: the carrier is ambiguous and is refused
};

// A call's media after an offer/answer.
struct MediaFacts {
    // Codec each stream carries, indexed by media::Direction: "g711ulaw",
    // "g711alaw" or another lower-case name; empty when unknown.
    std::string codec[2];
    bool hold = false;
    bool srtp = false;
    // Payload type each stream carries its codec on (G.711 may come on a
    // dynamic one); -1: unknown, the static type of the codec then.
    int codec_pt[2] = {-1, -1};
    // Dynamic payload type of telephone-event on each stream; -1: none.
    int telephone_event_pt[2] = {-1, -1};
};

// What the fork part needs to know about a call.
struct CallFacts {
    CallId anchor = 0;
    bool confirmed = false;             // 200/ACK done on both legs
    std::uint32_t profile_tag[2] = {};  // per media::Leg: stream-service profile of its dial-peer, 0 none
    MediaFacts media;
    media::SessionId relay_session = 0;
};

// The SIP side, implemented over sip::CallControl.
class CallPort {
public:
    virtual ~CallPort() = default;
    // An INFO with Content-Type application/x-cisco-record+json on that leg;
    // false when the leg has no confirmed dialog.
    virtual bool send_status(CallId leg, std::string json) = 0;
    // The call of that anchor leg, nullopt when it is gone.
    virtual std::optional<CallFacts> call_facts(CallId anchor) const = 0;
};

// Where the tee writes a call's audio frames; called from the packet thread
// only (no lock, no allocation). False when the frame was dropped.
class FrameSink {
public:
    virtual ~FrameSink() = default;
    virtual bool send(std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                      std::span<const std::uint8_t> payload) noexcept = 0;
};

// The speech server a fork goes to; calls with equal targets share connections.
struct ServerTarget {
    std::string host;
    std::uint16_t port = 0;
    bool secure = true;
    std::string path = "/";
    std::string token;  // empty: no Authorization header
    std::uint32_t profile_tag = 0;
    bool operator==(const ServerTarget&) const = default;
};

using TransportHandle = std::uint64_t;  // never 0

struct AttachOutcome {
    std::string reason;  // empty on success, else a forking.md reason string
    std::uint32_t connection_id = 0;
    std::uint32_t caller_channel = 0;
    std::uint32_t callee_channel = 0;
    std::shared_ptr<FrameSink> audio;
    bool ok() const { return reason.empty(); }
};

// What really left for one channel: frames (and their bytes, 12-byte header
// included) written towards the socket, and frames the connection's send queue
// dropped under back-pressure.
struct ChannelDelivery {
    std::uint64_t frames_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t frames_dropped = 0;
};

// The WebSocket side, implemented over ws::Pool. Events come back through
// Controller::on_connection_lost / on_channel_stopped.
class ForkTransport {
public:
    virtual ~ForkTransport() = default;
    // `done` runs later (never inside attach), once, unless detach() came first.
    virtual TransportHandle attach(const ServerTarget& target, CallId anchor, std::uint64_t fork_session,
                                   std::function<void(const AttachOutcome&)> done) = 0;
    virtual void send_control(TransportHandle handle, const nlohmann::ordered_json& message) = 0;
    virtual void detach(TransportHandle handle) = 0;
    // The channel's delivery counts while `handle` is attached (ws::Pool::
    // channel_counters); nullopt when there are none, and the fork then shows
    // what its tee handed over.
    virtual std::optional<ChannelDelivery> delivered(TransportHandle handle, std::uint32_t channel) const = 0;
    // The fork counters of `show voip stream-service statistics`.
    virtual void fork_started() = 0;
    virtual void fork_failed() = 0;
    virtual void fork_ended() = 0;
};

// The relay's tap, implemented over media::Relay::set_tap.
class TapControl {
public:
    virtual ~TapControl() = default;
    virtual void set_tap(media::SessionId session, media::Direction direction, media::TapSink* sink) = 0;
};

// Injected time and output, so the controller is tested without a clock or a log.
struct Environment {
    std::function<std::int64_t()> monotonic_ns;  // same clock as RtpPacket::arrival_ns
    std::function<std::chrono::system_clock::time_point()> utc_now;
    std::function<void(CallId, std::string_view)> trace_call;  // FORK_ET CALL lines
    std::function<void(std::string_view)> log_info;            // license lines
    int license_interval_seconds = 3600;
    // Defaults: steady_clock, system_clock, ops::trace_call, spdlog::info.
    static Environment standard(int license_interval_seconds);
};

// Forked packets/bytes/drops per direction (`show platform hardware qfp
// active feature sbc fork global`), read from any thread.
struct DataplaneTotals {
    std::uint64_t packets_forked = 0;
    std::uint64_t bytes_forked = 0;  // frame bytes, 12-byte header included
    std::uint64_t frames_dropped = 0;
};

class Controller {
public:
    Controller(CallPort& calls, ForkTransport& transport, TapControl& taps, Environment environment);
    ~Controller();
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    // From the B2BUA (the fork seam).
    void on_call_started(CallId anchor);  // first completed offer/answer: a licensed call
    void on_request(const Request& request);
    void on_media_changed(CallId anchor, const MediaFacts& media);
    void on_call_ended(CallId anchor);  // before the relay session is released
    // `none`, `connecting`, `active`, `paused` or `stopped`.
    std::string fork_state(CallId anchor) const;

    // From the transport.
    void on_connection_lost(TransportHandle handle, std::string_view reason);
    void on_channel_stopped(TransportHandle handle, std::uint32_t channel);

    // Call every ~20 ms on the control thread: forwards DTMF events the tee
    // queued, and makes license usage reports when an interval is over.
    void poll();
    void set_license_interval(int seconds);

    // Operator output. show_call takes the anchor's callid (the daemon maps
    // the other leg's callid to it); nullopt when the call never had a fork.
    std::optional<std::string> show_call(CallId anchor) const;
    nlohmann::json show_call_json(CallId anchor) const;
    std::string show_sessions() const;                         // `... sbc fork session`
    nlohmann::json show_sessions_json() const;                 // the same, for `| json`
    DataplaneTotals totals(media::Direction direction) const;  // `... sbc fork global`
    std::string license_table() const;                         // `show voice sip license stats table`
    nlohmann::json license_table_json() const;                 // the same, for `| json`

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace voxfork::fork
