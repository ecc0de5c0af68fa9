// What the fuzz targets share: a failed expectation aborts (libFuzzer then
// keeps the input as a crash), and an input cut into the messages a peer
// sends one after another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace voxfork::fuzz {

// An invariant of the code under test; unlike assert() it holds with NDEBUG too.
#define VOXFORK_FUZZ_CHECK(condition)                                                           \
    do {                                                                                        \
        if (!(condition)) {                                                                     \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);  \
            std::abort();                                                                       \
        }                                                                                       \
    } while (0)

// Logging costs a fuzz target most of its speed and tells it nothing: a
// target calls this from LLVMFuzzerInitialize.
void quiet_logs();

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The messages of a session, separated by the ASCII record separator (0x1e),
// which none of the protocols' text messages contains unescaped; the seeds in
// corpus/ are written that way.
inline std::vector<std::string_view> messages(std::string_view input) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = input.find('\x1e', start);
        out.push_back(input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return out;
}

}  // namespace voxfork::fuzz
