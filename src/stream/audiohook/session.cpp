#include "session.hpp"

#include <ctime>

#include <openssl/rand.h>

#include "signature.hpp"

namespace voxfork::stream::audiohook {
namespace {

// RFC 9421 nonce: 18 random bytes, 24 base64 characters (AudioHook wants 22+).
std::string nonce() {
    unsigned char bytes[18];
    RAND_bytes(bytes, sizeof bytes);
    return base64(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

// The upgrade's AudioHook headers for `session_id`, signed when the profile
// has a secret.
std::vector<std::pair<std::string, std::string>> upgrade_headers(const Target& target,
                                                                 const config::StreamServiceProfile& profile,
                                                                 const std::string& session_id) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Audiohook-Organization-Id", profile.audiohook_organization_id},
        {"Audiohook-Correlation-Id", random_uuid()},
        {"Audiohook-Session-Id", session_id},
        {"X-API-KEY", target.token}};
    const auto secret = decode_base64(profile.audiohook_client_secret);
    if (!secret) return headers;
    const UpgradeIdentity id{target.path, ws::authority(target.host, target.port), headers[0].second,
                             headers[2].second, headers[1].second, headers[3].second};
    // Signed at the attempt: a server accepts a signature for a few seconds only.
    const auto created = static_cast<long long>(std::time(nullptr));
    const auto fields = sign_upgrade(id, nonce(), created, created + 30, *secret);
    headers.emplace_back("Signature-Input", fields.input);
    headers.emplace_back("Signature", fields.signature);
    return headers;
}

// `participant.id` is one per call: the same in every fork of the call and
// in every session a reconnect opens, another in each call. A name-based UUID
// of the call's number, in a namespace drawn once per process.
std::string participant_id(std::uint64_t anchor) {
    static const std::string process_namespace = random_uuid();
    return name_uuid(process_namespace, std::to_string(anchor));
}

}  // namespace

AudiohookSession::AudiohookSession(detail::Host& host, SessionHandle handle, const Target& target,
                                   const CallInfo& call)
    : host_(host), handle_(handle), target_(target), call_(call) {
    const auto& profiles = host_.config().stream_service_profiles;
    if (auto it = profiles.find(target_.profile_tag); it != profiles.end()) profile_ = it->second;
}

AudiohookSession::~AudiohookSession() {
    if (connection_ != nullptr) connection_->set_events(nullptr);
}

void AudiohookSession::open() {
    if (target_.token.empty()) {
        // The API key is the credential: without one there is nothing to try.
        return host_.post([&host = host_, handle = handle_] { host.failed(handle, reason::auth_invalid); });
    }
    ws::ConnectionKey key = detail::key_for(target_, config::StreamProtocol::audiohook);
    key.headers = upgrade_headers(target_, profile_, session_id_);
    OpenRequest request;
    request.session_id = session_id_;
    request.organization_id = profile_.audiohook_organization_id;
    request.conversation_id = conversation_id(call_.call_guid);
    request.participant = {participant_id(call_.anchor), call_.caller_number, call_.caller_name, call_.called_number};
    request.custom_config = call_.metadata;
    request.reconnect_window = profile_.reconnect_window_seconds;
    // A reconnect is a new session (docs/stream.md, Continuity): its own id, headers, signature.
    request.headers_for = [target = target_, profile = profile_](const std::string& session_id) {
        return upgrade_headers(target, profile, session_id);
    };
    user_ = host_.pool().attach(
        key, ws::CallLabel{call_.anchor, call_.fork_session}, 1,
        [request] { return std::make_unique<Connection>(request); },
        [this](const ws::AttachResult& result) { on_attached(result); });
    host_.route(user_, handle_);
}

void AudiohookSession::on_attached(const ws::AttachResult& result) {
    auto* connection = static_cast<Connection*>(result.handler);
    if (!result.ok() || connection == nullptr) {
        host_.unroute(std::exchange(user_, 0));
        return host_.failed(handle_, result.ok() ? reason::internal_error : std::string_view(result.reason));
    }
    connection_ = connection;
    connection_id_ = result.connection_id;
    description_.connections = {connection_id_};
    connection_->set_events(this);  // `open` is out: `opened` comes later
}

void AudiohookSession::on_opened(const MediaChoice&) {
    established_ = true;
    Established e;
    e.connection_id = connection_id_;
    e.channel[0] = host_.next_channel();
    e.channel[1] = host_.next_channel();
    e.audio = std::make_shared<detail::PositionedSink>(connection_->ring(), connection_->ring());
    host_.established(handle_, e);
}

void AudiohookSession::on_open_failed(std::string_view why) {
    leave();
    host_.failed(handle_, why);
}

void AudiohookSession::on_disconnect(const std::string& words) {
    leave();
    host_.ended(handle_, Ending{reason::connection_closed, true, words});
}

void AudiohookSession::on_server_pause() {
    host_.paused_by_server(handle_);
}

void AudiohookSession::on_server_resume() {
    host_.resumed_by_server(handle_);
}

void AudiohookSession::on_updated() {
    host_.updated(handle_);
}

void AudiohookSession::start(Codec codec, const nlohmann::json&) {
    if (connection_) connection_->start(Clock::now(), codec);
}

void AudiohookSession::pause(std::string_view) {
    if (connection_) connection_->pause(Clock::now());
}

void AudiohookSession::resume(Codec codec) {
    if (connection_) connection_->resume(Clock::now(), codec);
}

bool AudiohookSession::update(const nlohmann::json& metadata) {
    // docs/stream.md, AudioHook: only a language is news to an AudioHook server.
    const auto language = metadata.is_object() ? metadata.find("language") : metadata.end();
    if (!connection_ || language == metadata.end() || !language->is_string()) return false;
    connection_->update(Clock::now(), language->get_ref<const std::string&>());
    return true;
}

void AudiohookSession::stop(std::string_view) {
    if (connection_) connection_->finish(Clock::now(), "end");
}

void AudiohookSession::close() {
    if (connection_) connection_->finish(Clock::now(), "end");
    leave();
}

Description AudiohookSession::describe() const {
    Description d = description_;
    if (connection_ != nullptr) {
        d.server_messages = connection_->server_events();
        d.latest_server_message = connection_->latest_event();
    }
    return d;
}

void AudiohookSession::leave() {
    description_ = describe();
    if (connection_ != nullptr) {
        for (const auto d : {media::Direction::caller, media::Direction::callee})
            final_[static_cast<std::size_t>(d)] = connection_->delivery(d);
        connection_->set_events(nullptr);
        connection_ = nullptr;
    }
    if (user_ != 0) {
        host_.unroute(user_);
        host_.pool().detach(std::exchange(user_, 0));
    }
}

std::optional<Delivery> AudiohookSession::delivered(media::Direction direction) const {
    if (connection_) return connection_->delivery(direction);
    return final_[static_cast<std::size_t>(direction) & 1];
}

void AudiohookSession::on_connection_lost(ws::UserHandle, std::string_view why) {
    user_ = 0;  // the pool detached it (and the route is gone)
    leave();
    if (established_)
        host_.ended(handle_, Ending{why, false, {}});
    else
        host_.failed(handle_, why);
}

}  // namespace voxfork::stream::audiohook
