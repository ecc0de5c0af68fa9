#include "fork_wiring.hpp"

#include <spdlog/spdlog.h>

namespace voxfork {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(20);

fork::MediaFacts to_fork(const sip::MediaState& media) {
    fork::MediaFacts facts;
    for (int i = 0; i < 2; ++i) {
        facts.codec[i] = media.codec[i];
        facts.codec_pt[i] = media.codec_pt[i];
        facts.telephone_event_pt[i] = media.telephone_event_pt[i];
    }
    facts.hold = media.hold;
    facts.srtp = media.srtp;
    return facts;
}

// The pool's audio sink seen as the tee's frame sink: the same call, one hop.
class FrameSinkOverAudioSink final : public fork::FrameSink {
public:
    explicit FrameSinkOverAudioSink(std::shared_ptr<ws::AudioSink> sink) : sink_(std::move(sink)) {}
    bool send(std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
              std::span<const std::uint8_t> payload) noexcept override {
        return sink_->send(channel, seq, position, payload);
    }

private:
    std::shared_ptr<ws::AudioSink> sink_;
};

}  // namespace

class ForkWiring::Calls final : public fork::CallPort {
public:
    Calls(sip::B2bua& sip, const config::ConfigPtr& config) : sip_(sip), config_(config) {}

    bool send_status(fork::CallId leg, std::string json) override {
        return sip_.send_status_info(leg, std::move(json));
    }

    std::optional<fork::CallFacts> call_facts(fork::CallId anchor) const override {
        const auto call = sip_.find_call(anchor);
        if (!call) return std::nullopt;
        fork::CallFacts facts;
        facts.anchor = call->anchor;
        facts.confirmed = call->confirmed;
        for (int leg = 0; leg < 2; ++leg) {
            const auto* profile = config_->profile_for_dial_peer(call->legs[leg].dial_peer);
            facts.profile_tag[leg] = profile ? profile->tag : 0;
        }
        facts.media = to_fork(call->media);
        facts.relay_session = call->relay_session;
        return facts;
    }

private:
    sip::B2bua& sip_;
    const config::ConfigPtr& config_;  // the wiring's, so a reload is seen at once
};

class ForkWiring::Transport final : public fork::ForkTransport {
public:
    explicit Transport(ws::Pool& pool) : pool_(pool) {}

    fork::TransportHandle attach(const fork::ServerTarget& target, fork::CallId anchor, std::uint64_t fork_session,
                                 std::function<void(const fork::AttachOutcome&)> done) override {
        const ws::ConnectionKey key{target.host, target.port,  target.secure,
                                    target.path, target.token, target.profile_tag};
        return pool_.attach(key, ws::CallLabel{anchor, fork_session},
                            [done = std::move(done)](const ws::AttachResult& result) {
                                fork::AttachOutcome outcome;
                                outcome.reason = result.reason;
                                outcome.connection_id = result.connection_id;
                                outcome.caller_channel = result.caller_channel;
                                outcome.callee_channel = result.callee_channel;
                                if (result.audio)
                                    outcome.audio = std::make_shared<FrameSinkOverAudioSink>(result.audio);
                                done(outcome);
                            });
    }
    void send_control(fork::TransportHandle handle, const nlohmann::ordered_json& message) override {
        pool_.send_control(handle, message);
    }
    void detach(fork::TransportHandle handle) override { pool_.detach(handle); }
    void fork_started() override { pool_.fork_started(); }
    void fork_failed() override { pool_.fork_failed(); }
    void fork_ended() override { pool_.fork_ended(); }
    // What the pool really wrote or discarded for a channel, so `show voip
    // stream-service callid` agrees with the statistics under back-pressure.
    std::optional<fork::ChannelDelivery> delivered(fork::TransportHandle, std::uint32_t channel) const override {
        const auto counters = pool_.channel_counters(channel);
        return fork::ChannelDelivery{counters.frames_sent, counters.bytes_sent, counters.frames_dropped};
    }

private:
    ws::Pool& pool_;
};

class ForkWiring::Taps final : public fork::TapControl {
public:
    explicit Taps(media::Relay& relay) : relay_(relay) {}
    void set_tap(media::SessionId session, media::Direction direction, media::TapSink* sink) override {
        relay_.set_tap(session, direction, sink);
    }

private:
    media::Relay& relay_;
};

// The B2BUA's seam, handed on to the controller.
class ForkWiring::Seam final : public sip::ForkSeam {
public:
    explicit Seam(fork::Controller& controller) : controller_(controller) {}

    void on_fork_request(const sip::ForkRequest& request) override {
        fork::Request r;
        r.anchor = request.anchor;
        r.leg = request.leg;
        r.side = request.side;
        r.carrier = request.carrier == sip::Carrier::info ? fork::Carrier::info : fork::Carrier::reinvite;
        r.json = request.json;
        r.transaction = request.transaction;
        r.sip_call_id = request.sip_call_id;
        r.json_parts = request.json_parts;
        controller_.on_request(r);
    }
    void on_media_changed(sip::CallId anchor, const sip::MediaState& media) override {
        controller_.on_call_started(anchor);  // idempotent: the first answer makes it a licensed call
        controller_.on_media_changed(anchor, to_fork(media));
    }
    void on_call_ended(sip::CallId anchor) override { controller_.on_call_ended(anchor); }
    std::string fork_state(sip::CallId anchor) const override { return controller_.fork_state(anchor); }

private:
    fork::Controller& controller_;
};

class ForkWiring::PoolEvents final : public ws::Observer {
public:
    explicit PoolEvents(fork::Controller& controller) : controller_(controller) {}
    void on_connection_lost(ws::CallHandle call, std::string_view reason) override {
        controller_.on_connection_lost(call, reason);
    }
    void on_channel_stopped(ws::CallHandle call, std::uint32_t channel, std::string_view) override {
        controller_.on_channel_stopped(call, channel);
    }

private:
    fork::Controller& controller_;
};

ForkWiring::ForkWiring(boost::asio::io_context& io, config::ConfigPtr config, sip::B2bua& sip, ws::Pool& pool,
                       media::Relay& relay, ops::CommandRegistry& commands)
    : io_(io), config_(std::move(config)), sip_(sip), pool_(pool), poll_timer_(io) {
    calls_ = std::make_unique<Calls>(sip_, config_);
    transport_ = std::make_unique<Transport>(pool_);
    taps_ = std::make_unique<Taps>(relay);
    controller_ = std::make_unique<fork::Controller>(
        *calls_, *transport_, *taps_, fork::Environment::standard(config_->license_usage_interval_seconds));
    seam_ = std::make_unique<Seam>(*controller_);
    pool_events_ = std::make_unique<PoolEvents>(*controller_);
    sip_.set_fork_seam(seam_.get());
    pool_.set_observer(pool_events_.get());
    sip_.set_extra_fork_counters([this](media::Direction direction) {
        const auto totals = controller_->totals(direction);
        return std::vector<std::pair<std::string, std::uint64_t>>{{"Packets forked", totals.packets_forked},
                                                                  {"Bytes forked", totals.bytes_forked},
                                                                  {"Frames dropped", totals.frames_dropped}};
    });
    register_commands(commands);
    schedule_poll();
}

ForkWiring::~ForkWiring() {
    stop();
}

void ForkWiring::register_commands(ops::CommandRegistry& commands) {
    commands.add("show voip stream-service callid", "one call's fork (CALLID of either leg)", 1,
                 [this](const ops::CommandArgs& args) {
                     if (args.empty()) throw ops::CommandError("a CALLID is needed");
                     fork::CallId callid = 0;
                     try {
                         std::size_t used = 0;
                         callid = std::stoull(args[0], &used);
                         if (used != args[0].size()) throw std::invalid_argument(args[0]);
                     } catch (const std::exception&) {
                         throw ops::CommandError("\"" + args[0] + "\" is not a call id");
                     }
                     // Either leg's id names the call; a call gone from SIP may still have a fork record.
                     if (const auto call = sip_.find_call(callid)) callid = call->anchor;
                     auto text = controller_->show_call(callid);
                     if (!text) throw ops::CommandError("no fork for callid " + args[0]);
                     return ops::CommandOutput{*text, controller_->show_call_json(callid)};
                 });
    commands.add("show platform hardware qfp active feature sbc fork session", "dataplane counters per fork session", 0,
                 [this](const ops::CommandArgs&) {
                     return ops::CommandOutput{controller_->show_sessions(), controller_->show_sessions_json()};
                 });
    commands.add("show voice sip license stats table", "the last 10 license usage reports", 0,
                 [this](const ops::CommandArgs&) {
                     return ops::CommandOutput{controller_->license_table(), controller_->license_table_json()};
                 });
}

void ForkWiring::schedule_poll() {
    poll_timer_.expires_after(poll_interval);
    poll_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        controller_->poll();
        schedule_poll();
    });
}

void ForkWiring::reload(config::ConfigPtr config) {
    config_ = std::move(config);
    controller_->set_license_interval(config_->license_usage_interval_seconds);
}

void ForkWiring::stop() {
    if (stopped_) return;
    stopped_ = true;
    poll_timer_.cancel();
    sip_.set_fork_seam(nullptr);
    pool_.set_observer(nullptr);
    sip_.set_extra_fork_counters(nullptr);
}

}  // namespace voxfork
