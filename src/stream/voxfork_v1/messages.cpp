#include "messages.hpp"

#include <cstring>

namespace voxfork::stream::voxfork_v1 {

using Ordered = nlohmann::ordered_json;

std::string_view codec_name(Codec codec) {
    return codec == Codec::alaw ? "PCMA" : "PCMU";
}

Ordered start(std::uint32_t channel, const CallInfo& call, std::string_view leg, Codec codec,
              const nlohmann::json& metadata) {
    return {{"type", "START"},   {"channel", channel},  {"call-guid", call.call_guid}, {"call-id", call.sip_call_id},
            {"leg", leg},        {"codec", codec_name(codec)}, {"rate", 8000}, {"metadata", metadata}};
}

Ordered pause(std::uint32_t channel, std::string_view reason) {
    return {{"type", "PAUSE"}, {"channel", channel}, {"reason", reason}};
}

Ordered resume(std::uint32_t channel, Codec codec) {
    return {{"type", "RESUME"}, {"channel", channel}, {"codec", codec_name(codec)}};
}

Ordered update(std::uint32_t channel, const nlohmann::json& metadata) {
    return {{"type", "UPDATE"}, {"channel", channel}, {"metadata", metadata}};
}

Ordered stop(std::uint32_t channel, std::string_view reason) {
    return {{"type", "STOP"}, {"channel", channel}, {"reason", reason}};
}

Ordered dtmf(std::uint32_t channel, char digit, std::uint16_t duration) {
    return {{"type", "DTMF"}, {"channel", channel}, {"digit", std::string(1, digit)}, {"duration", duration}};
}

namespace {
void put_u32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
}  // namespace

void Framing::encode(std::span<std::uint8_t> out, std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                     std::span<const std::uint8_t> payload) noexcept {
    std::memcpy(out.data(), &channel, sizeof channel);  // the ring's own copy, for the io thread
    std::uint8_t* frame = out.data() + sizeof channel;
    put_u32(frame, channel);
    put_u32(frame + 4, seq);
    put_u32(frame + 8, position);
    std::memcpy(frame + header_size, payload.data(), payload.size());
}

Framing::Record Framing::decode(std::span<const std::uint8_t> record) noexcept {
    Record r;
    std::memcpy(&r.channel, record.data(), sizeof r.channel);
    r.bytes = record.subspan(sizeof r.channel);
    return r;
}

std::optional<ServerStop> parse_server_stop(std::string_view text) {
    // Read only through checks: a field of an unexpected type makes the frame
    // one to ignore, never an exception.
    const auto message = nlohmann::json::parse(text, nullptr, false);
    if (!message.is_object()) return std::nullopt;
    const auto type = message.find("type");
    const auto channel = message.find("channel");
    if (type == message.end() || !type->is_string() || type->get_ref<const std::string&>() != "STOP" ||
        channel == message.end() || !channel->is_number_unsigned() || channel->get<std::uint64_t>() > UINT32_MAX ||
        channel->get<std::uint64_t>() == 0)
        return std::nullopt;
    ServerStop stop;
    stop.channel = static_cast<std::uint32_t>(channel->get<std::uint64_t>());
    if (const auto reason = message.find("reason"); reason != message.end() && reason->is_string())
        stop.reason = reason->get<std::string>();
    return stop;
}

}  // namespace voxfork::stream::voxfork_v1
