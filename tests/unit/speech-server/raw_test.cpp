// The raw protocol of speech-server: which channel a connection carries.
#include "raw.hpp"

#include <gtest/gtest.h>

namespace speech {
namespace {

TEST(RawLayout, TheQueryNamesTheChannel) {
    EXPECT_EQ(Raw::channel_of("/v2/listen?lang=en&channel=caller"), "caller");
    EXPECT_EQ(Raw::channel_of("/v2/listen?channel=callee&lang=en"), "callee");
    EXPECT_EQ(Raw::channel_of("/v2/listen?lang=en"), "");  // interleaved
    EXPECT_EQ(Raw::channel_of("/v2/listen"), "");
    EXPECT_EQ(Raw::channel_of("/v2/listen?channel=agent"), "");
    EXPECT_EQ(Raw::channel_of("/v2/channel=caller"), "");  // a path, not a query
}

}  // namespace
}  // namespace speech
