#include "messages.hpp"

namespace voxfork::fork {

// Keys keep the order they are written in: wire.md's, and the status INFOs'.
using Ordered = nlohmann::ordered_json;

namespace status {
namespace {

Ordered head(const std::optional<std::string>& guid, std::string_view status) {
    Ordered j = Ordered::object();
    if (guid) j["call-guid"] = *guid;
    j["status"] = status;
    return j;
}

std::string with_reason(const std::optional<std::string>& guid, std::string_view status, std::string_view reason) {
    Ordered j = head(guid, status);
    j["reason"] = reason;
    return j.dump();
}

}  // namespace

std::string started(const std::optional<std::string>& guid, std::uint32_t connection_id, std::uint32_t caller,
                    std::uint32_t callee) {
    Ordered j = head(guid, "STARTED");
    j["connection-id"] = connection_id;
    j["channels"] = Ordered{{"caller", caller}, {"callee", callee}};
    return j.dump();
}

std::string updated(const std::optional<std::string>& guid) {
    return head(guid, "UPDATED").dump();
}

std::string paused(const std::optional<std::string>& guid, std::string_view reason) {
    return with_reason(guid, "PAUSED", reason);
}

std::string resumed(const std::optional<std::string>& guid, G711 codec) {
    Ordered j = head(guid, "RESUMED");
    j["codec"] = codec_name(codec);
    return j.dump();
}

std::string stopped(const std::optional<std::string>& guid, std::string_view reason) {
    return with_reason(guid, "STOPPED", reason);
}

std::string error(const std::optional<std::string>& guid, std::string_view reason) {
    return with_reason(guid, "ERROR", reason);
}

}  // namespace status

namespace wire {

Ordered start(std::uint32_t channel, const std::string& guid, const std::string& sip_call_id, std::string_view leg,
              G711 codec, const nlohmann::json& metadata) {
    return {{"type", "START"}, {"channel", channel},         {"call-guid", guid}, {"call-id", sip_call_id},
            {"leg", leg},      {"codec", wire_codec(codec)}, {"rate", 8000},      {"metadata", metadata}};
}

Ordered pause(std::uint32_t channel, std::string_view reason) {
    return {{"type", "PAUSE"}, {"channel", channel}, {"reason", reason}};
}

Ordered resume(std::uint32_t channel, G711 codec) {
    return {{"type", "RESUME"}, {"channel", channel}, {"codec", wire_codec(codec)}};
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

}  // namespace wire
}  // namespace voxfork::fork
