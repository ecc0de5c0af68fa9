// The controller's private state: one record per call, at most one fork per
// call at a time (a new START after a stop replaces the old one).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "licensing.hpp"
#include "render.hpp"
#include "request.hpp"
#include "state_machine.hpp"
#include "tee.hpp"
#include "voxfork/fork.hpp"

namespace voxfork::fork {

struct Fork {
    std::uint64_t session_id = 0;  // the data-plane fork session id
    std::string guid;
    stream::Target target;
    nlohmann::json metadata = nlohmann::json::object();
    std::optional<G711> pinned;  // the START named a codec
    G711 codec = G711::ulaw;     // the codec in force (START's, then the last RESUME's)
    CallId start_leg = 0;        // status INFOs no request caused go here
    media::Leg side = media::Leg::a;
    std::string sip_call_id;
    media::SessionId relay_session = 0;
    std::string caller_number, caller_name, called_number;
    stream::SessionHandle session = 0;  // the stream session, while the fork holds one
    std::uint32_t connection_id = 0;
    std::uint32_t channel[2] = {};  // by media::Direction
    std::shared_ptr<stream::AudioSink> audio;
    std::unique_ptr<Tee> tee;
    // What the session had delivered per direction, and what it was, when
    // the fork left it.
    std::optional<stream::Delivery> delivered[2];
    std::optional<stream::Description> description;
    // UPDATEs accepted while connecting: metadata and the leg to answer on.
    std::vector<std::pair<nlohmann::json, CallId>> deferred_updates;
    // The server paused the audio (AudioHook): a call's resume does not end that.
    bool server_paused = false;
    bool connection_lost = false;  // its connection is being reconnected
    // The session was told of a pause of the call's own (hold, codec).
    bool call_pause_told = false;
    // The last update() will be confirmed by the server: its UPDATED waits.
    bool update_confirmation_due = false;
    // Legs owed an UPDATED once the server confirms, oldest first.
    std::deque<CallId> updates_awaiting_server;
};

struct CallRecord {
    State state = State::idle;
    std::string sip_call_id;  // of the leg the last forking request came on, for the log
    bool ever_started = false;  // a fork of this call sent START
    std::optional<Carrier> carrier;
    std::deque<std::string> transactions;  // recent ones, to ignore retransmissions
    MediaState media;
    std::optional<Fork> fork;
};

// What an event brings with it to the steps of its row.
struct Context {
    const call::ForkRequest* request = nullptr;
    const ForkRequest* parsed = nullptr;
    std::optional<std::string> guid;  // for statuses
    std::string_view reason;          // attach failure, connection loss, pause reason
};

// The fork's state as the shows give it: `stopped` for one that ended (or
// never went out), and `paused` while its connection is being reconnected
// (the controller was told `PAUSED` `connection-lost` at the loss), though the
// fork itself goes on (its audio is kept for the new connection).
std::string_view shown_state(const CallRecord& record);
// Why a started fork should be paused now (hold first), or nullopt.
std::optional<std::string_view> pause_reason(const Fork& fork, const MediaState& media);
// The call's negotiated codec as G.711, nullopt when it is another codec.
std::optional<G711> call_g711(const MediaState& media);
// The payload type whose packets the tee forks on `direction`: the one the
// call carries the fork's codec on, else that codec's static type.
int audio_pt(const Fork& fork, const MediaState& media, media::Direction direction);

class Controller::Impl {
public:
    Impl(CallPort& calls, stream::Service& streams, TapControl& taps, Environment env);
    ~Impl();

    void on_request(const call::ForkRequest& request);
    void on_media_changed(CallId anchor, const MediaState& media);
    void on_call_ended(CallId anchor);
    void on_established(stream::SessionHandle session, const stream::Established& established);
    void on_failed(stream::SessionHandle session, std::string_view reason);
    void on_ended(stream::SessionHandle session, std::string_view reason);
    void on_paused_by_server(stream::SessionHandle session);
    void on_resumed_by_server(stream::SessionHandle session);
    void on_updated(stream::SessionHandle session);
    void on_interrupted(stream::SessionHandle session);
    void on_restored(stream::SessionHandle session);
    void poll();

    std::string fork_state(CallId anchor) const;
    const std::map<CallId, CallRecord>& records() const { return records_; }
    CallRecord* find_by_session(stream::SessionHandle session, CallId& anchor);
    std::optional<CallView> view(CallId anchor) const;
    std::vector<SessionView> sessions() const;  // `... sbc fork session`, text or json

    Licensing licensing;
    DataplaneCounters totals;

private:
    // Feeds one event to the table and carries out its row.
    void run(CallId anchor, CallRecord& record, Event event, const Context& ctx);
    void run_for_session(stream::SessionHandle session, Event event, Context ctx);
    void step(CallId anchor, CallRecord& record, const Step& s, const Context& ctx);
    void status(CallId anchor, const CallRecord& record, const Context& ctx, std::string body);
    // A FORK_ET CALL line with the call's SIP Call-ID and call-guid: the
    // fork's, else `guid` (a request's that made no fork).
    void trace(CallId anchor, const CallRecord& record, std::string_view text,
               const std::optional<std::string>& guid = std::nullopt);
    void reject(CallId anchor, const call::ForkRequest& request, const std::optional<std::string>& guid, std::string_view why);
    void begin(CallId anchor, CallRecord& record, const Context& ctx);
    void make_tee(Fork& fork, const MediaState& media);
    void tap(Fork& fork, bool on);
    void drop_session(Fork& fork);  // let go of the stream session
    void flush_updates(CallId anchor, Fork& fork);
    // UPDATED to `leg` now, or once the server confirms the update just sent.
    void updated_status(CallId anchor, Fork& fork, CallId leg);
    // A channel's counts: what the session delivered, else what the tee handed over.
    ChannelView channel_view(const Fork& fork, std::size_t direction) const;
    bool seen_before(CallRecord& record, const std::string& transaction);
    CallRecord* find(CallId anchor);

    CallPort& calls_;
    stream::Service& streams_;
    TapControl& taps_;
    Environment env_;
    std::map<CallId, CallRecord> records_;
    std::unordered_map<stream::SessionHandle, CallId> by_session_;
    std::uint64_t next_session_ = 1;
    // DTMF events the tees queued, and how many of those poll() has seen:
    // it walks the calls only when they differ.
    std::atomic<std::uint64_t> dtmf_queued_{0};
    std::uint64_t dtmf_seen_ = 0;
};

}  // namespace voxfork::fork
