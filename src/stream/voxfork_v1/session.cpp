#include "session.hpp"

namespace voxfork::stream::voxfork_v1 {
namespace {

constexpr std::string_view leg_names[2] = {"caller", "callee"};

// The tee's sink: one call's two channels in the connection's ring.
class ChannelSink final : public AudioSink {
public:
    ChannelSink(std::shared_ptr<Ring> ring, const std::uint32_t (&channels)[2])
        : ring_(std::move(ring)), channel_{channels[0], channels[1]} {}
    std::size_t send(media::Direction direction, std::uint32_t seq, std::uint32_t position,
                     std::span<const std::uint8_t> payload) noexcept override {
        const std::uint32_t channel = channel_[static_cast<std::size_t>(direction) & 1];
        return ring_->push(channel, seq, position, payload) ? header_size + payload.size() : 0;
    }

private:
    std::shared_ptr<Ring> ring_;
    std::uint32_t channel_[2];
};

// A connection's ring holds both channels of every call it may carry, for as
// long as the io thread may stall.
std::size_t ring_bytes(int calls_threshold) {
    const auto channels = static_cast<std::size_t>(std::max(calls_threshold, 1)) * 2;
    return detail::ring_bytes_for(detail::stall_seconds, channels, sizeof(std::uint32_t) + header_size);
}

}  // namespace

V1Session::V1Session(detail::Host& host, SessionHandle handle, const Target& target, const CallInfo& call)
    : host_(host), handle_(handle), target_(target), call_(call) {}

V1Session::~V1Session() = default;

void V1Session::open() {
    ws::ConnectionKey key = detail::key_for(target_, config::StreamProtocol::voxfork_v1);
    key.subprotocol = subprotocol;
    if (!target_.token.empty()) key.headers.emplace_back("Authorization", "Bearer " + target_.token);
    config::StreamServiceProfile profile;
    const auto& profiles = host_.config().stream_service_profiles;
    if (auto it = profiles.find(target_.profile_tag); it != profiles.end()) profile = it->second;
    const int threshold = profile.calls_threshold;
    const int window = profile.reconnect_window_seconds;
    user_ = host_.pool().attach(
        key, ws::CallLabel{call_.anchor, call_.fork_session}, threshold,
        [threshold, window] { return std::make_unique<Connection>(ring_bytes(threshold), window); },
        [this](const ws::AttachResult& result) { on_attached(result); });
    host_.route(user_, handle_);
}

void V1Session::on_attached(const ws::AttachResult& result) {
    auto* connection = static_cast<Connection*>(result.handler);
    if (!result.ok() || connection == nullptr) {
        host_.unroute(user_);
        user_ = 0;
        return host_.failed(handle_, result.ok() ? reason::internal_error : std::string_view(result.reason));
    }
    connection_ = connection;
    connection_id_ = result.connection_id;
    channel_[0] = host_.next_channel();
    channel_[1] = host_.next_channel();
    connection_->add_call(handle_, channel_, [this](const std::string& words) { on_server_ended(words); });
    Established established;
    established.connection_id = result.connection_id;
    established.channel[0] = channel_[0];
    established.channel[1] = channel_[1];
    established.audio = std::make_shared<ChannelSink>(connection_->ring(), channel_);
    host_.established(handle_, established);
}

template <class Make>
void V1Session::send_both(Connection::Gate gate, Make&& make) {
    if (connection_ == nullptr) return;
    for (std::uint32_t channel : channel_) connection_->send(channel, gate, make(channel));
}

void V1Session::start(Codec codec, const nlohmann::json& metadata) {
    if (connection_ == nullptr) return;
    for (std::size_t i = 0; i < 2; ++i)
        connection_->send(channel_[i], Connection::Gate::open, voxfork_v1::start(channel_[i], call_, leg_names[i], codec, metadata));
}

void V1Session::pause(std::string_view reason) {
    send_both(Connection::Gate::close, [&](std::uint32_t ch) { return voxfork_v1::pause(ch, reason); });
}

void V1Session::resume(Codec codec) {
    send_both(Connection::Gate::open, [&](std::uint32_t ch) { return voxfork_v1::resume(ch, codec); });
}

bool V1Session::update(const nlohmann::json& metadata) {
    send_both(Connection::Gate::keep, [&](std::uint32_t ch) { return voxfork_v1::update(ch, metadata); });
    return false;  // voxfork.v1: the server does not answer
}

void V1Session::dtmf(media::Direction direction, char digit, std::uint16_t duration) {
    if (connection_ == nullptr) return;
    const std::uint32_t channel = channel_[static_cast<std::size_t>(direction) & 1];
    connection_->send(channel, Connection::Gate::keep, voxfork_v1::dtmf(channel, digit, duration));
}

void V1Session::stop(std::string_view reason) {
    send_both(Connection::Gate::stop, [&](std::uint32_t ch) { return voxfork_v1::stop(ch, reason); });
}

void V1Session::close() {
    leave();
}

void V1Session::keep_delivery() {
    if (connection_ == nullptr) return;
    for (std::size_t i = 0; i < 2; ++i) final_[i] = connection_->delivery(channel_[i]);
}

void V1Session::leave() {
    keep_delivery();
    if (connection_ != nullptr) connection_->remove_call(handle_);
    connection_ = nullptr;
    if (user_ != 0) {
        host_.unroute(user_);
        host_.pool().detach(std::exchange(user_, 0));
    }
}

std::optional<Delivery> V1Session::delivered(media::Direction direction) const {
    const std::size_t i = static_cast<std::size_t>(direction) & 1;
    if (connection_ != nullptr) return connection_->delivery(channel_[i]);
    return final_[i];
}

void V1Session::on_server_ended(const std::string& words) {
    // The connection answered the STOPs; the call leaves it now.
    leave();
    host_.ended(handle_, Ending{reason::connection_closed, true, words});
}

void V1Session::on_connection_lost(ws::UserHandle, std::string_view reason) {
    keep_delivery();
    connection_ = nullptr;  // closing: nothing more may be sent on it
    user_ = 0;              // the pool detached it already (and the route is gone)
    host_.ended(handle_, Ending{reason, false, {}});
}

}  // namespace voxfork::stream::voxfork_v1
