// The service: session handles, the routing of the transport's events to the
// sessions, and the one place a protocol is chosen for a new session.
#include <map>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "audiohook/session.hpp"
#include "raw/session.hpp"
#include "session.hpp"
#include "voxfork_v1/session.hpp"

namespace voxfork::stream {
namespace detail {

namespace {

class ServiceImpl final : public Streams, public Host, public ws::Observer {
public:
    ServiceImpl(boost::asio::io_context& io, ws::Pool& pool, config::ConfigPtr config)
        : io_(io), pool_(pool), config_(std::move(config)) {
        pool_.set_observer(this);
    }
    ~ServiceImpl() override {
        pool_.set_observer(nullptr);
        for (auto& [handle, session] : sessions_) session->close();
    }

    // ---- Service ----
    void set_events(Events* events) override { events_ = events; }

    SessionHandle open(const Target& target, const CallInfo& call) override {
        const SessionHandle handle = next_session_++;
        auto session = make_session(handle, target, call);
        Session& s = *session;
        sessions_.emplace(handle, std::move(session));
        s.open();
        return handle;
    }
    void start(SessionHandle h, Codec codec, const nlohmann::json& metadata) override {
        if (auto* s = find(h)) s->start(codec, metadata);
    }
    void pause(SessionHandle h, std::string_view reason) override {
        if (auto* s = find(h)) s->pause(reason);
    }
    void resume(SessionHandle h, Codec codec) override {
        if (auto* s = find(h)) s->resume(codec);
    }
    bool update(SessionHandle h, const nlohmann::json& metadata) override {
        auto* s = find(h);
        return s != nullptr && s->update(metadata);
    }
    void dtmf(SessionHandle h, media::Direction direction, char digit, std::uint16_t duration) override {
        if (auto* s = find(h)) s->dtmf(direction, digit, duration);
    }
    void stop(SessionHandle h, std::string_view reason) override {
        if (auto* s = find(h)) s->stop(reason);
    }
    void close(SessionHandle h) override {
        auto it = sessions_.find(h);
        if (it == sessions_.end()) return;
        it->second->close();
        retire(it);
    }
    std::optional<Delivery> delivered(SessionHandle h, media::Direction direction) const override {
        auto it = sessions_.find(h);
        if (it == sessions_.end()) return std::nullopt;
        return it->second->delivered(direction);
    }
    std::optional<Description> describe(SessionHandle h) const override {
        auto it = sessions_.find(h);
        if (it == sessions_.end()) return std::nullopt;
        return it->second->describe();
    }
    void fork_started() override { pool_.fork_started(); }
    void fork_failed() override { pool_.fork_failed(); }
    void fork_ended() override { pool_.fork_ended(); }

    void reload(config::ConfigPtr config) override { config_ = std::move(config); }

    // ---- Host ----
    ws::Pool& pool() override { return pool_; }
    const config::Config& config() const override { return *config_; }
    std::uint32_t next_channel() override {
        if (++next_channel_ == 0) ++next_channel_;
        return next_channel_;
    }
    void post(std::function<void()> fn) override { boost::asio::post(io_, std::move(fn)); }
    void route(ws::UserHandle user, SessionHandle session) override { routes_[user] = session; }
    void unroute(ws::UserHandle user) override { routes_.erase(user); }
    void established(SessionHandle session, const Established& established) override {
        if (events_) events_->on_established(session, established);
    }
    void paused_by_server(SessionHandle session) override {
        if (events_) events_->on_paused_by_server(session);
    }
    void resumed_by_server(SessionHandle session) override {
        if (events_) events_->on_resumed_by_server(session);
    }
    void updated(SessionHandle session) override {
        if (events_) events_->on_updated(session);
    }
    void failed(SessionHandle session, std::string_view reason) override {
        end(session, [&] {
            if (events_) events_->on_failed(session, reason);
        });
    }
    void ended(SessionHandle session, const Ending& ending) override {
        end(session, [&] {
            if (events_) events_->on_ended(session, ending);
        });
    }

    // ---- ws::Observer ----
    void on_connection_lost(ws::UserHandle user, std::string_view reason) override {
        auto it = routes_.find(user);
        if (it == routes_.end()) return;
        const SessionHandle session = it->second;
        routes_.erase(it);
        if (auto* s = find(session)) s->on_connection_lost(user, reason);
    }

    // A fork on several connections (raw `separate`) is interrupted while
    // any of them is being reconnected, and restored when all are back.
    void on_connection_interrupted(ws::UserHandle user) override {
        auto it = routes_.find(user);
        if (it == routes_.end() || !sessions_.contains(it->second)) return;
        if (interrupted_[it->second]++ == 0 && events_) events_->on_interrupted(it->second);
    }
    void on_connection_restored(ws::UserHandle user) override {
        auto it = routes_.find(user);
        if (it == routes_.end()) return;
        auto count = interrupted_.find(it->second);
        if (count == interrupted_.end()) return;
        if (--count->second > 0) return;
        const SessionHandle session = it->second;
        interrupted_.erase(count);
        if (!sessions_.contains(session)) return;
        pool_.fork_resumed();
        if (events_) events_->on_restored(session);
    }

private:
    using Sessions = std::map<SessionHandle, std::unique_ptr<Session>>;

    // The one place a profile's protocol picks the session's implementation.
    std::unique_ptr<Session> make_session(SessionHandle handle, const Target& target, const CallInfo& call) {
        switch (protocol_of(target)) {
            case config::StreamProtocol::raw:
                return std::make_unique<raw::RawSession>(*this, handle, target, call);
            case config::StreamProtocol::audiohook:
                return std::make_unique<audiohook::AudiohookSession>(*this, handle, target, call);
            case config::StreamProtocol::voxfork_v1:
                break;
        }
        return std::make_unique<voxfork_v1::V1Session>(*this, handle, target, call);
    }

    config::StreamProtocol protocol_of(const Target& target) const {
        const auto& profiles = config_->stream_service_profiles;
        auto it = profiles.find(target.profile_tag);
        return it == profiles.end() ? config::StreamProtocol::voxfork_v1 : it->second.protocol;
    }

    Session* find(SessionHandle h) {
        auto it = sessions_.find(h);
        return it == sessions_.end() ? nullptr : it->second.get();
    }

    template <class Tell>
    void end(SessionHandle session, Tell&& tell) {
        auto it = sessions_.find(session);
        if (it == sessions_.end()) return;
        tell();
        // The fork may have closed it while it was told.
        it = sessions_.find(session);
        if (it != sessions_.end()) retire(it);
    }

    // A session may be on the stack when it goes (it reported its own end):
    // it is destroyed once the current handler is over.
    // (Each session takes its own routes down when it leaves the transport.)
    void retire(Sessions::iterator it) {
        interrupted_.erase(it->first);
        retired_->push_back(std::move(it->second));
        sessions_.erase(it);
        if (retired_->size() == 1) boost::asio::post(io_, [retired = retired_] { retired->clear(); });
    }

    boost::asio::io_context& io_;
    ws::Pool& pool_;
    config::ConfigPtr config_;
    Events* events_ = nullptr;
    Sessions sessions_;
    std::unordered_map<ws::UserHandle, SessionHandle> routes_;
    std::unordered_map<SessionHandle, int> interrupted_;  // its connections being reconnected
    // Shared with the posted clean-up, which may run after the service is gone.
    std::shared_ptr<std::vector<std::unique_ptr<Session>>> retired_ =
        std::make_shared<std::vector<std::unique_ptr<Session>>>();
    SessionHandle next_session_ = 1;
    std::uint32_t next_channel_ = 0;
};

}  // namespace
}  // namespace detail

std::unique_ptr<Streams> Streams::create(boost::asio::io_context& io, ws::Pool& pool, config::ConfigPtr config) {
    return std::make_unique<detail::ServiceImpl>(io, pool, std::move(config));
}

}  // namespace voxfork::stream
