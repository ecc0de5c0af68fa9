#include "session.hpp"

namespace voxfork::stream::raw {
namespace {

std::string with_channel(const std::string& path, std::string_view channel) {
    return path + (path.find('?') == std::string::npos ? "?" : "&") + "channel=" + std::string(channel);
}

}  // namespace

RawSession::RawSession(detail::Host& host, SessionHandle handle, const Target& target, const CallInfo& call)
    : host_(host), handle_(handle), target_(target), call_(call) {
    const auto& profiles = host_.config().stream_service_profiles;
    if (auto it = profiles.find(target_.profile_tag); it != profiles.end()) profile_ = it->second;
}

RawSession::~RawSession() = default;

void RawSession::open() {
    const bool interleaved = profile_.raw_layout == config::RawLayout::interleaved;
    links_.resize(interleaved ? 1 : 2);
    for (std::size_t i = 0; i < links_.size(); ++i) {
        ws::ConnectionKey key = detail::key_for(target_, config::StreamProtocol::raw);
        if (!interleaved) key.path = with_channel(target_.path, i == 0 ? "caller" : "callee");
        if (!target_.token.empty()) key.headers.emplace_back("Authorization", profile_.raw_auth_scheme + " " + target_.token);
        Connection::Settings settings;
        settings.both = interleaved;
        settings.direction = i == 0 ? media::Direction::caller : media::Direction::callee;
        settings.keepalive_message = profile_.raw_keepalive_message;
        settings.reconnect_window = profile_.reconnect_window_seconds;
        // A connection of its own: nothing else shares it.
        links_[i].user = host_.pool().attach(
            key, ws::CallLabel{call_.anchor, call_.fork_session}, 1,
            [settings] { return std::make_unique<Connection>(settings); },
            [this, i](const ws::AttachResult& result) { on_attached(i, result); });
        host_.route(links_[i].user, handle_);
    }
}

void RawSession::on_attached(std::size_t index, const ws::AttachResult& result) {
    auto* connection = static_cast<Connection*>(result.handler);
    if (!result.ok() || connection == nullptr) {
        links_[index].user = 0;  // the pool forgot it
        host_.unroute(result.user);
        leave({});
        return host_.failed(handle_, result.ok() ? reason::internal_error : std::string_view(result.reason));
    }
    links_[index].connection = connection;
    links_[index].connection_id = result.connection_id;
    description_.connections.push_back(result.connection_id);
    for (const Link& l : links_)
        if (l.connection == nullptr) return;  // the other is still on its way
    established_ = true;
    Established e;
    e.connection_id = links_.front().connection_id;
    e.channel[0] = host_.next_channel();
    e.channel[1] = host_.next_channel();
    e.audio = std::make_shared<detail::PositionedSink>(link_of(media::Direction::caller).connection->ring(),
                                              link_of(media::Direction::callee).connection->ring());
    host_.established(handle_, e);
}

const RawSession::Link& RawSession::link_of(media::Direction direction) const {
    return links_.size() == 1 ? links_.front() : links_[static_cast<std::size_t>(direction) & 1];
}

void RawSession::start(Codec codec, const nlohmann::json&) {
    const auto now = Clock::now();
    for (const Link& l : links_)
        if (l.connection) l.connection->start(now, codec);
}

void RawSession::pause(std::string_view) {
    const auto now = Clock::now();
    for (const Link& l : links_)
        if (l.connection) l.connection->pause(now);
}

void RawSession::resume(Codec codec) {
    const auto now = Clock::now();
    for (const Link& l : links_)
        if (l.connection) l.connection->resume(now, codec);
}

void RawSession::stop(std::string_view) {
    leave(profile_.raw_stop_message);
}

void RawSession::close() {
    leave({});
}

Description RawSession::describe() const {
    Description d = description_;
    // In the separate layout each channel's server talks on its own
    // connection: the latest text is the newer of the two.
    Clock::time_point latest_at{};
    for (const Link& l : links_) {
        if (l.connection == nullptr) continue;
        d.server_messages += l.connection->server_texts();
        if (!l.connection->latest_text().empty() && l.connection->latest_text_at() >= latest_at) {
            latest_at = l.connection->latest_text_at();
            d.latest_server_message = l.connection->latest_text();
        }
    }
    return d;
}

void RawSession::leave(const std::string& stop_message) {
    for (const auto d : {media::Direction::caller, media::Direction::callee}) {
        if (const Connection* c = link_of(d).connection) final_[static_cast<std::size_t>(d)] = c->delivery(d);
    }
    description_ = describe();
    const auto now = Clock::now();
    for (Link& l : links_) {
        if (l.connection != nullptr) l.connection->finish(now, stop_message);
        l.connection = nullptr;
        if (l.user != 0) {
            host_.unroute(l.user);
            host_.pool().detach(std::exchange(l.user, 0));
        }
    }
}

std::optional<Delivery> RawSession::delivered(media::Direction direction) const {
    if (const Connection* c = link_of(direction).connection) return c->delivery(direction);
    return final_[static_cast<std::size_t>(direction) & 1];
}

void RawSession::on_connection_lost(ws::UserHandle user, std::string_view why) {
    for (Link& l : links_) {
        if (l.user == user) {
            l.user = 0;  // the pool detached it (and the route is gone)
            if (l.connection) {
                for (const auto d : {media::Direction::caller, media::Direction::callee})
                    if (&link_of(d) == &l) final_[static_cast<std::size_t>(d)] = l.connection->delivery(d);
            }
            l.connection = nullptr;
        }
    }
    leave({});  // the other channel's connection goes too
    if (established_)
        host_.ended(handle_, Ending{why, false, {}});
    else
        host_.failed(handle_, why);
}

}  // namespace voxfork::stream::raw
