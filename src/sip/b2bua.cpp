// The SIP part's face: joins the sofia adapter, the call manager and the
// operator commands, all on the control-plane io_context.
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "call_manager.hpp"
#include "show.hpp"
#include "stack.hpp"
#include "voxfork/ops.hpp"
#include "voxfork/overload.hpp"
#include "voxfork/sip.hpp"

namespace asio = boost::asio;

namespace voxfork::sip {

class B2bua::Impl : public StackListener {
public:
    Impl(asio::io_context& io, config::ConfigPtr config, media::Relay& relay, NameResolver resolver)
        : io_(io),
          config_(config),
          relay_(relay),
          stack_(SofiaStack::create(io, *this)),
          resolver_(std::move(resolver)),
          calls_(*stack_, relay, config,
                 [this](const std::string& host, auto done) { resolve(host, std::move(done)); }),
          drain_timer_(io),
          latch_timer_(io),
          loop_lag_(io) {
        calls_.set_overload_check([this] { return loop_lag_.overloaded(); });
        loop_lag_.watch_queue([this] { return stack_->receive_queue_fill(); });
    }

    void on_request(const IncomingRequest& r) override { calls_.on_request(r); }
    void on_response(const Response& r) override { calls_.on_response(r); }
    void on_terminated(HandleId h) override { calls_.on_terminated(h); }
    void on_ack_timeout(HandleId h) override { calls_.on_ack_timeout(h); }
    int screen(const Arrival& a) override { return calls_.screen(a); }

    bool start(std::string& error) {
        SofiaStack::Options options;
        options.address = config_->voip.sip.control_address;
        options.address_ipv6 = config_->voip.sip.control_address_ipv6;
        options.port = config_->voip.sip.listen_port;
        options.user_agent = "voxfork/" VOXFORK_VERSION;
        if (!stack_->start(options, error)) return false;
        started_ = true;
        calls_.set_signalling(options.address, options.address_ipv6);
        calls_.learn_dns_targets();
        spdlog::info("sip: listening on {}:{} (udp, tcp)", options.address, options.port);
        if (options.address_ipv6) spdlog::info("sip: listening on [{}]:{} (udp, tcp)", *options.address_ipv6, options.port);
        watch_latches();
        loop_lag_.start();
        return true;
    }

    // The packet thread never logs: the relay's latches are picked up here,
    // a few times a second, and logged by the call manager.
    void watch_latches() {
        latch_timer_.expires_after(std::chrono::milliseconds(250));
        latch_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || !started_) return;
            calls_.on_latch_changes(relay_.take_latch_changes());
            watch_latches();
        });
    }

    void reload(config::ConfigPtr config) {
        const auto& sip = config->voip.sip;
        if (sip.control_address != config_->voip.sip.control_address ||
            sip.control_address_ipv6 != config_->voip.sip.control_address_ipv6 ||
            sip.listen_port != config_->voip.sip.listen_port)
            spdlog::warn("sip: changed SIP addresses or port take effect at the next start");
        config_ = config;
        calls_.set_config(std::move(config));
    }

    // BYE/CANCEL/503 every call, give the far ends up to 2 s to answer, then
    // shut the stack down.
    void stop(std::function<void()> done) {
        if (!started_) {
            if (done) asio::post(io_, std::move(done));
            return;
        }
        started_ = false;
        latch_timer_.cancel();
        loop_lag_.stop();
        calls_.release_all();
        drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        drain(std::move(done));
    }

    void drain(std::function<void()> done) {
        if (calls_.calls_left() == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
            stack_->shutdown([this, done = std::move(done)] {
                spdlog::info("sip: stopped");
                if (done) done();
            });
            return;
        }
        drain_timer_.expires_after(std::chrono::milliseconds(20));
        drain_timer_.async_wait([this, done = std::move(done)](const boost::system::error_code& ec) mutable {
            if (!ec) drain(std::move(done));
        });
    }

    // An answer that comes after the B2BUA is gone is dropped: a lookup can
    // outlive it (the resolver is the daemon's, shared with the WebSocket pool).
    void resolve(const std::string& host, dns::Resolver::Handler done) {
        resolver_(host, [alive = std::weak_ptr<void>(alive_), done = std::move(done)](std::vector<net::Address> found) {
            if (!alive.expired()) done(std::move(found));
        });
    }

    asio::io_context& io_;
    config::ConfigPtr config_;
    media::Relay& relay_;
    std::unique_ptr<SofiaStack> stack_;
    NameResolver resolver_;
    std::shared_ptr<void> alive_ = std::make_shared<int>(0);
    CallManager calls_;
    asio::steady_timer drain_timer_;
    asio::steady_timer latch_timer_;
    std::chrono::steady_clock::time_point drain_deadline_;
    ExtraCounters extra_;
    overload::LoopLag loop_lag_;  // the loop the SIP stack runs on
    bool started_ = false;
};

B2bua::B2bua(asio::io_context& io, config::ConfigPtr config, media::Relay& relay, ops::CommandRegistry& commands,
             NameResolver resolver)
    : impl_(std::make_unique<Impl>(io, std::move(config), relay, std::move(resolver))) {
    Impl* impl = impl_.get();
    commands.add("show call active voice brief", "active calls: callid, legs, peers, codec, fork state", 0,
                 [impl](const ops::CommandArgs&) { return show_calls(impl->calls_.rows()); });
    commands.add("show call active voice", "active calls with each leg's media: signalled and latched RTP", 0,
                 [impl](const ops::CommandArgs&) { return show_call_details(impl->calls_.rows()); });
    commands.add("show sip-ua statistics", "SIP counters: calls, rejections by cause", 0,
                 [impl](const ops::CommandArgs&) {
                     return show_statistics(impl->calls_.counters(), impl->calls_.dialogs_open(),
                                            impl->loop_lag_.counters());
                 });
    commands.add("show platform hardware qfp active feature sbc fork global",
                 "dataplane counters: RTP relayed, forked, dropped, per direction", 0,
                 [impl](const ops::CommandArgs&) { return show_fork_global(impl->relay_, impl->extra_); });
}

B2bua::~B2bua() = default;

bool B2bua::start(std::string& error) {
    return impl_->start(error);
}
void B2bua::reload(config::ConfigPtr config) {
    impl_->reload(std::move(config));
}
void B2bua::stop(std::function<void()> done) {
    impl_->stop(std::move(done));
}
void B2bua::set_fork_seam(ForkSeam* seam) {
    impl_->calls_.set_seam(seam);
}
void B2bua::set_extra_fork_counters(ExtraCounters counters) {
    impl_->extra_ = std::move(counters);
}
bool B2bua::send_status_info(CallId leg, std::string json) {
    return impl_->calls_.send_status_info(leg, std::move(json));
}
std::optional<CallInfo> B2bua::find_call(CallId leg) const {
    return impl_->calls_.find_call(leg);
}
const SipCounters& B2bua::counters() const {
    return impl_->calls_.counters();
}
const overload::Counters& B2bua::overload_counters() const {
    return impl_->loop_lag_.counters();
}
std::size_t B2bua::active_calls() const {
    return impl_->calls_.call_count();
}
std::size_t B2bua::dialogs_open() const {
    return impl_->calls_.dialogs_open();
}

}  // namespace voxfork::sip
