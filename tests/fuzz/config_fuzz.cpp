// The configuration file (voxfork/config.hpp): any text gives a Config or
// errors, and a Config printed back parses to the same Config.
#include "check.hpp"
#include "voxfork/config.hpp"

using namespace voxfork;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto result = config::parse(fuzz::as_text(data, size), "fuzz.conf");
    VOXFORK_FUZZ_CHECK((result.config != nullptr) == result.errors.empty());
    VOXFORK_FUZZ_CHECK(result.errors.size() <= 1001);
    for (const auto& error : result.errors) (void)error.to_string();
    if (!result.config) return 0;
    const auto again = config::parse(config::print(*result.config), "printed.conf");
    VOXFORK_FUZZ_CHECK(again.config != nullptr);
    VOXFORK_FUZZ_CHECK(*again.config == *result.config);
    (void)config::print(*result.config, config::Secrets::masked, config::Defaults::shown);
    return 0;
}
