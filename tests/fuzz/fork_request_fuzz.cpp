// Forking request bodies (fork/request.hpp): the JSON of an INFO, either a
// request or the exact reason it is refused.
#include "check.hpp"
#include "request.hpp"

using namespace voxfork;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto result = fork::parse_request(fuzz::as_text(data, size));
    // Exactly one of a request and a reason.
    VOXFORK_FUZZ_CHECK(result.request.has_value() == result.error.empty());
    if (!result.request) return 0;
    const auto& request = *result.request;
    VOXFORK_FUZZ_CHECK(!request.call_guid.empty());
    VOXFORK_FUZZ_CHECK(!request.metadata || request.metadata->is_object());
    if (request.action == fork::Action::start) {
        VOXFORK_FUZZ_CHECK(request.host && request.port && request.secure && request.path);
        const stream::Target start{*request.host, *request.port, *request.secure, *request.path,
                                   request.token.value_or(""), 0};
        VOXFORK_FUZZ_CHECK(fork::update_matches_start(request, start));
    }
    if (request.codec) (void)fork::codec_name(*request.codec);
    return 0;
}
