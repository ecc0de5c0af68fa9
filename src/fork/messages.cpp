#include "messages.hpp"

namespace voxfork::fork {

// Keys keep the order they are written in: the status INFOs'.
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

}  // namespace voxfork::fork
