// Message bodies as sofia-sip hands them over (sip/sofia_body.hpp).
#include <gtest/gtest.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mime_protos.h>
#include <sofia-sip/su_alloc.h>

#include <string>

#include "sip/multipart.hpp"
#include "sip/sofia_body.hpp"

using voxfork::sip::Body;
using voxfork::sip::read_body;

namespace {

class ReadBody : public ::testing::Test {
protected:
    ~ReadBody() override { su_home_deinit(home_); }
    Body read(const char* type, const std::string& payload) {
        return read_body(msg_content_type_make(home_, type), msg_payload_create(home_, payload.data(), payload.size()));
    }
    su_home_t home_[1] = {SU_HOME_INIT(home_)};
};

}  // namespace

TEST_F(ReadBody, MultipartComesSplitIntoItsParts) {
    const Body body = read("multipart/mixed;boundary=b1",
                           "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
                           "\r\n--b1\r\nContent-Type: Application/JSON\r\n\r\n{\"action\":\"STOP\"}\r\n--b1--\r\n");
    EXPECT_FALSE(body.malformed);
    ASSERT_EQ(body.parts.size(), 2u);
    EXPECT_EQ(body.count("application/json"), 1u);
    ASSERT_NE(body.find("application/json"), nullptr);
    EXPECT_EQ(*body.find("application/json"), "{\"action\":\"STOP\"}");
}

TEST_F(ReadBody, ASinglePartBodyIsTheText) {
    const Body body = read("application/sdp", "v=0\r\n");
    EXPECT_EQ(body.content_type, "application/sdp");
    EXPECT_EQ(body.text, "v=0\r\n");
    EXPECT_TRUE(body.parts.empty());
}

// Found by tests/fuzz/multipart_fuzz.cpp: a NUL among a part's headers made
// sofia-sip's msg_multipart_parse assert, which aborted the daemon.
TEST_F(ReadBody, ANulAmongAPartsHeadersIsJustAByte) {
    using namespace std::string_literals;
    const std::string payload = "--xyz\r\nContent-Type: application/sdp\nv=0\r\no=a\0b\r\n\r\nx\r\n--xyz--\r\n"s;
    const Body body = read("multipart/mixed", payload);
    EXPECT_FALSE(body.malformed);
    EXPECT_EQ(body.text, payload);
    ASSERT_NE(body.find("application/sdp"), nullptr);
    EXPECT_EQ(*body.find("application/sdp"), "x");
}

TEST_F(ReadBody, AMultipartTypeWithoutABodyIsMalformed) {
    const Body body = read_body(msg_content_type_make(home_, "multipart/mixed;boundary=x"), nullptr);
    EXPECT_TRUE(body.malformed);
}

TEST_F(ReadBody, LineFeedsAloneAndAnEmptyPart) {
    // As the integration tests' controller writes it: LF line ends, an empty JSON part.
    const Body body = read("multipart/mixed;boundary=B",
                           "--B\nContent-Type: application/sdp\n\nv=0\no=x\n\n--B\nContent-Type: application/json\n\n\n--B--");
    EXPECT_FALSE(body.malformed);
    ASSERT_EQ(body.parts.size(), 2u);
    EXPECT_EQ(body.parts[0].text, "v=0\no=x\n");
    EXPECT_EQ(body.parts[1].content_type, "application/json");
    EXPECT_EQ(body.parts[1].text, "");
}

TEST_F(ReadBody, TheBoundaryMayBeQuotedOrLeftOut) {
    const std::string payload = "preamble\r\n--b 1\r\nc: Application/SDP ; x=y\r\n\r\nv=0\r\n--b 1--\r\nepilogue";
    for (const char* type : {"multipart/mixed; boundary=\"b 1\"", "multipart/mixed"}) {
        const Body body = read(type, payload);
        ASSERT_EQ(body.parts.size(), 1u) << type;
        EXPECT_EQ(body.parts[0].content_type, "application/sdp");
        EXPECT_EQ(body.parts[0].text, "v=0");
    }
}

TEST_F(ReadBody, OnlyWholeDelimiterLinesSplit) {
    const Body body = read("multipart/mixed;boundary=b1",
                           "--b1\r\nContent-Type: text/plain\r\n\r\n--b1x is text\r\n --b1\r\n--b1--\r\n");
    ASSERT_EQ(body.parts.size(), 1u);
    EXPECT_EQ(body.parts[0].text, "--b1x is text\r\n --b1");
}

TEST_F(ReadBody, PartsWithoutATypeAreLeftOutAndAFoldedTypeIsRead) {
    const Body body = read("multipart/mixed;boundary=b1",
                           "--b1\r\nX-Other: 1\r\n\r\nignored\r\n--b1\r\nContent-Type:\r\n application/json\r\n\r\n{}\r\n--b1--");
    ASSERT_EQ(body.parts.size(), 1u);
    EXPECT_EQ(body.parts[0].content_type, "application/json");
    EXPECT_EQ(body.parts[0].text, "{}");
}

// Also found by the fuzz target: for a body whose boundary it could not find
// (or with no close delimiter), msg_multipart_parse leaked its work area,
// about 560 bytes a message.
TEST_F(ReadBody, BodiesThatDoNotSplitAreMalformed) {
    EXPECT_TRUE(read("multipart/mixed", "no boundary here").malformed);
    EXPECT_TRUE(read("multipart/mixed;boundary=b1", "no boundary here").malformed);
    EXPECT_TRUE(read("multipart/mixed;boundary=b1", "--b1\r\nContent-Type: a/b\r\n\r\nx\r\n").malformed);
    EXPECT_TRUE(read("multipart/mixed;boundary=b1", "--b1 trailing words\r\nContent-Type: a/b\r\n\r\nx\r\n--b1--").malformed);
    std::string many;
    for (std::size_t i = 0; i <= voxfork::sip::multipart::max_parts; ++i) many += "--b1\r\nContent-Type: a/b\r\n\r\nx\r\n";
    EXPECT_TRUE(read("multipart/mixed;boundary=b1", many + "--b1--").malformed);
}
