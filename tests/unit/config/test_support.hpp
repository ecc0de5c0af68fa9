// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "voxfork/config.hpp"

namespace voxfork::config::testing {

inline std::string joined(const std::vector<ConfigError>& errors) {
    std::string all;
    for (const auto& e : errors) all += e.to_string() + "\n";
    return all;
}

// Parses text that must be valid; a failure shows every error.
inline Config ok(std::string_view text) {
    const auto result = parse(text, "test.conf");
    EXPECT_TRUE(result.errors.empty()) << joined(result.errors);
    EXPECT_EQ(result.config == nullptr, !result.errors.empty());
    return result.config ? *result.config : Config{};
}

// A network written as "ADDR/LEN", for expectations.
inline net::Network network(std::string_view text) {
    const auto parsed = net::Network::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(net::Network{});
}

// The errors of text that must be refused, each as "LINE: MESSAGE".
inline std::vector<std::string> errors(std::string_view text) {
    const auto result = parse(text, "test.conf");
    EXPECT_EQ(result.config, nullptr) << "expected errors for:\n" << text;
    std::vector<std::string> out;
    for (const auto& e : result.errors) {
        EXPECT_EQ(e.path, "test.conf");
        out.push_back(std::to_string(e.line) + ": " + e.message);
    }
    return out;
}

}  // namespace voxfork::config::testing
