// The fork part: forking requests (parse, validate), each call's fork state
// machine, the tee from the relay's tap to a connection's audio sink, status
// INFOs and license counts (docs/forking.md, docs/controller.md, docs/speech-server-protocol.md).
//
// The fork part sees SIP and the relay through the small interfaces below
// (CallPort, TapControl), and the speech server only through the stream
// layer's neutral commands and events (stream.hpp): it knows no wire format.
//
// Threads: everything runs on the control-plane thread, except the tee, which
// the relay calls on the media packet thread.
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

#include "voxfork/call.hpp"
#include "voxfork/media.hpp"
#include "voxfork/ops.hpp"
#include "voxfork/stream.hpp"

namespace voxfork::fork {

// The seam's types (call.hpp): what the B2BUA hands over.
using call::CallId;
using call::Carrier;
using call::MediaState;

// What the fork part needs to know about a call.
struct CallFacts {
    CallId anchor = 0;
    bool confirmed = false;             // 200/ACK done on both legs
    std::uint32_t profile_tag[2] = {};  // per media::Leg: stream-service profile of its dial-peer, 0 none
    MediaState media;
    media::SessionId relay_session = 0;
    std::string caller_number, caller_name, called_number;  // for the speech server
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
    std::function<void(const ops::CallRef&, std::string_view)> trace_call;  // FORK_ET CALL lines
    std::function<void(std::string_view)> log_info;            // license lines
    int license_interval_seconds = 3600;
    // Defaults: steady_clock, system_clock, ops::trace_call, spdlog::info.
    static Environment standard(int license_interval_seconds);
};

// Forked packets/bytes/drops per direction (`show platform hardware qfp
// active feature sbc fork global`), read from any thread.
struct DataplaneTotals {
    std::uint64_t packets_forked = 0;
    std::uint64_t bytes_forked = 0;  // bytes as framed by the profile's protocol
    std::uint64_t frames_dropped = 0;
};

// What the metrics endpoint reads live: the calls' forks by the state the
// Fork column shows (calls still up whose fork stopped are `stopped`), and
// the license counts.
struct LiveCounts {
    std::uint64_t forks_connecting = 0;
    std::uint64_t forks_active = 0;
    std::uint64_t forks_paused = 0;
    std::uint64_t forks_stopped = 0;
    std::uint64_t standard_calls = 0;
    std::uint64_t enhanced_calls = 0;
    std::uint64_t aggregate_calls = 0;
};

class Controller final : public call::ForkSeam, public stream::Events {
public:
    Controller(CallPort& calls, stream::Service& streams, TapControl& taps, Environment environment);
    ~Controller() override;
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    // From the B2BUA (the fork seam).
    void on_fork_request(const call::ForkRequest& request) override;
    // The first completed offer/answer makes the call a licensed one.
    void on_media_changed(CallId anchor, const MediaState& media) override;
    void on_call_ended(CallId anchor) override;  // before the relay session is released
    // `none`, `connecting`, `active`, `paused` or `stopped`.
    std::string fork_state(CallId anchor) const override;
    std::string call_guid(CallId anchor) const override;

    // From the stream layer.
    void on_established(stream::SessionHandle session, const stream::Established& established) override;
    void on_failed(stream::SessionHandle session, std::string_view reason) override;
    void on_ended(stream::SessionHandle session, const stream::Ending& ending) override;
    void on_paused_by_server(stream::SessionHandle session) override;
    void on_resumed_by_server(stream::SessionHandle session) override;
    void on_updated(stream::SessionHandle session) override;
    void on_interrupted(stream::SessionHandle session) override;
    void on_restored(stream::SessionHandle session) override;

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
    LiveCounts live_counts() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace voxfork::fork
