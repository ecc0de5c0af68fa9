// What every protocol's session shares (session.hpp), apart from the service
// so that a protocol's connection builds without it.
#include "session.hpp"

namespace voxfork::stream::detail {

ws::ConnectionKey key_for(const Target& target, config::StreamProtocol protocol) {
    ws::ConnectionKey key;
    key.protocol = std::string(config::to_string(protocol));
    key.host = target.host;
    key.port = target.port;
    key.secure = target.secure;
    key.path = target.path;
    key.profile_tag = target.profile_tag;
    key.token = target.token;
    return key;
}

std::string message_text(const nlohmann::ordered_json& message) {
    return message.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace voxfork::stream::detail
