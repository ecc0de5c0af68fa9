#include "fork_wiring.hpp"

#include <spdlog/spdlog.h>

namespace voxfork {

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(20);

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
        facts.media = call->media;
        facts.relay_session = call->relay_session;
        facts.caller_number = call->caller_number;
        facts.caller_name = call->caller_name;
        facts.called_number = call->called_number;
        return facts;
    }

private:
    sip::B2bua& sip_;
    const config::ConfigPtr& config_;  // the wiring's, so a reload is seen at once
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

ForkWiring::ForkWiring(boost::asio::io_context& io, config::ConfigPtr config, sip::B2bua& sip,
                       stream::Service& streams, media::Relay& relay, ops::CommandRegistry& commands)
    : io_(io), config_(std::move(config)), sip_(sip), streams_(streams), poll_timer_(io) {
    calls_ = std::make_unique<Calls>(sip_, config_);
    taps_ = std::make_unique<Taps>(relay);
    controller_ = std::make_unique<fork::Controller>(
        *calls_, streams_, *taps_, fork::Environment::standard(config_->license_usage_interval_seconds));
    sip_.set_fork_seam(controller_.get());
    streams_.set_events(controller_.get());
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
                     if (!text) throw ops::NotFound("No fork for callid " + args[0]);
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
    streams_.set_events(nullptr);
    sip_.set_extra_fork_counters(nullptr);
}

}  // namespace voxfork
