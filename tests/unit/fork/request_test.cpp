// Request parsing and validation: one row per case, in docs/controller.md's order.
#include <gtest/gtest.h>

#include <string>

#include "request.hpp"

namespace voxfork::fork {
namespace {

struct Case {
    const char* name;
    std::string body;
    std::string_view error;  // empty: valid
};

const std::string start_head = R"({"action":"START","call-guid":"G1","host":"asr.lab.example","port":8443)";

std::string start_with(const std::string& extra) {
    return start_head + extra + "}";
}

std::vector<Case> cases() {
    return {
        // Step 1.
        {"empty", "", reason::json_parse_failure},
        {"not_json", "hello", reason::json_parse_failure},
        {"truncated", R"({"action":"START")", reason::json_parse_failure},
        {"array", R"([{"action":"START"}])", reason::json_parse_failure},
        {"string", R"("START")", reason::json_parse_failure},
        {"number", "42", reason::json_parse_failure},
        {"null", "null", reason::json_parse_failure},
        {"trailing_garbage", R"({"action":"STOP","call-guid":"G"} x)", reason::json_parse_failure},
        {"bad_utf8_in_string", "{\"action\":\"STOP\",\"call-guid\":\"G\xff\"}", reason::json_parse_failure},
        {"bad_utf8_outside", "{\"action\":\"STOP\",\"call-guid\":\"G\"}\xc3", reason::json_parse_failure},
        {"deep_nesting", start_with(R"(,"metadata":)" + std::string(10000, '[') + std::string(10000, ']')),
         reason::json_parse_failure},
        {"deep_unbalanced", std::string(100000, '{'), reason::json_parse_failure},
        {"oversized", start_with(R"(,"metadata":{"x":")" + std::string(1 << 20, 'a') + "\"}"),
         reason::json_parse_failure},
        // Step 2.
        {"no_action", R"({"call-guid":"G"})", reason::mandatory_missing},
        {"no_guid", R"({"action":"STOP"})", reason::mandatory_missing},
        {"null_guid", R"({"action":"STOP","call-guid":null})", reason::mandatory_missing},
        {"no_guid_bad_action", R"({"action":"PLAY"})", reason::mandatory_missing},
        {"start_no_host", R"({"action":"START","call-guid":"G","port":80})", reason::mandatory_missing},
        {"start_no_port", R"({"action":"START","call-guid":"G","host":"h"})", reason::mandatory_missing},
        {"update_no_metadata", R"({"action":"UPDATE","call-guid":"G"})", reason::mandatory_missing},
        {"empty_object", "{}", reason::mandatory_missing},
        // Step 3.
        {"lower_case_action", R"({"action":"start","call-guid":"G","host":"h","port":1})",
         reason::method_not_supported},
        {"unknown_action", R"({"action":"PAUSE","call-guid":"G"})", reason::method_not_supported},
        {"numeric_action", R"({"action":1,"call-guid":"G"})", reason::method_not_supported},
        {"bad_action_before_bad_port", R"({"action":"X","call-guid":"G","port":"1"})", reason::method_not_supported},
        // Step 4.
        {"port_string", start_head.substr(0, start_head.find("8443")) + R"("8080"})", reason::unexpected_format},
        {"port_zero", R"({"action":"START","call-guid":"G","host":"h","port":0})", reason::unexpected_format},
        {"port_negative", R"({"action":"START","call-guid":"G","host":"h","port":-1})", reason::unexpected_format},
        {"port_too_big", R"({"action":"START","call-guid":"G","host":"h","port":65536})", reason::unexpected_format},
        {"port_fraction", R"({"action":"START","call-guid":"G","host":"h","port":8080.5})", reason::unexpected_format},
        {"port_float_whole", R"({"action":"START","call-guid":"G","host":"h","port":8080.0})",
         reason::unexpected_format},
        {"port_bool", R"({"action":"START","call-guid":"G","host":"h","port":true})", reason::unexpected_format},
        {"host_number", R"({"action":"START","call-guid":"G","host":1,"port":1})", reason::unexpected_format},
        {"host_empty", R"({"action":"START","call-guid":"G","host":"","port":1})", reason::unexpected_format},
        {"host_with_space", R"({"action":"START","call-guid":"G","host":"a b","port":1})", reason::unexpected_format},
        {"host_url", R"({"action":"START","call-guid":"G","host":"ws://a","port":1})", reason::unexpected_format},
        {"host_v6_with_port", R"({"action":"START","call-guid":"G","host":"[::1]:443","port":1})",
         reason::unexpected_format},
        {"host_v6_half_bracket", R"({"action":"START","call-guid":"G","host":"[::1","port":1})",
         reason::unexpected_format},
        {"host_v6_zone", R"({"action":"START","call-guid":"G","host":"fe80::1%eth0","port":1})",
         reason::unexpected_format},
        {"host_v4_bracketed", R"({"action":"START","call-guid":"G","host":"[127.0.0.1]","port":1})",
         reason::unexpected_format},
        {"host_v6_bad", R"({"action":"START","call-guid":"G","host":"1::2::3","port":1})", reason::unexpected_format},
        {"secure_string", start_with(R"(,"secure":"yes")"), reason::unexpected_format},
        {"secure_number", start_with(R"(,"secure":1)"), reason::unexpected_format},
        {"path_no_slash", start_with(R"(,"path":"v1/fork")"), reason::unexpected_format},
        {"path_empty", start_with(R"(,"path":"")"), reason::unexpected_format},
        {"path_number", start_with(R"(,"path":5)"), reason::unexpected_format},
        {"path_crlf", start_with(R"(,"path":"/a\r\nX: y")"), reason::unexpected_format},
        {"path_space", start_with(R"(,"path":"/a b")"), reason::unexpected_format},
        {"token_number", start_with(R"(,"token":5)"), reason::unexpected_format},
        {"token_newline", start_with(R"(,"token":"a\nb")"), reason::unexpected_format},
        {"codec_g729", start_with(R"(,"codec":"g729")"), reason::unexpected_format},
        {"codec_upper", start_with(R"(,"codec":"G711ULAW")"), reason::unexpected_format},
        {"codec_number", start_with(R"(,"codec":0)"), reason::unexpected_format},
        {"metadata_array", start_with(R"(,"metadata":[1])"), reason::unexpected_format},
        {"metadata_string", start_with(R"(,"metadata":"a")"), reason::unexpected_format},
        {"update_metadata_string", R"({"action":"UPDATE","call-guid":"G","metadata":"x"})", reason::unexpected_format},
        {"guid_empty", R"({"action":"STOP","call-guid":""})", reason::unexpected_format},
        {"guid_65", R"({"action":"STOP","call-guid":")" + std::string(65, 'A') + "\"}", reason::unexpected_format},
        {"guid_number", R"({"action":"STOP","call-guid":12})", reason::unexpected_format},
        {"guid_object", R"({"action":"STOP","call-guid":{}})", reason::unexpected_format},
        // Valid.
        {"start_minimal", start_with(""), {}},
        {"start_full",
         start_with(R"(,"secure":false,"path":"/v1/fork","token":"t","codec":"g711alaw",)"
                    R"("metadata":{"agent":"1001"},"extra":[1,2,{"x":null}])"),
         {}},
        {"start_port_edges_1", R"({"action":"START","call-guid":"G","host":"10.0.0.1","port":1})", {}},
        {"start_v6_bracketed", R"({"action":"START","call-guid":"G","host":"[2001:db8::1]","port":1})", {}},
        {"start_v6_bare", R"({"action":"START","call-guid":"G","host":"::1","port":1})", {}},
        {"start_port_edges_65535", R"({"action":"START","call-guid":"G","host":"h","port":65535})", {}},
        {"guid_64", R"({"action":"STOP","call-guid":")" + std::string(64, 'A') + "\"}", {}},
        {"guid_64_multibyte",
         "{\"action\":\"STOP\",\"call-guid\":\"" +
             [] {
                 std::string s;
                 for (int i = 0; i < 64; ++i) s += "\xc3\xa9";
                 return s;
             }() +
             "\"}",
         {}},
        {"stop_ignores_bad_fields", R"({"action":"STOP","call-guid":"G","port":"x","codec":"g729","metadata":1})", {}},
        {"update_ignores_codec", R"({"action":"UPDATE","call-guid":"G","metadata":{},"codec":"g729"})", {}},
        {"unknown_fields_ignored", R"({"action":"STOP","call-guid":"G","foo":{"bar":[1]}})", {}},
        {"nested_metadata_ok", start_with(R"(,"metadata":{"a":{"b":{"c":[1,[2,[3]]]}}})"), {}},
        {"whitespace_around", "  \n" + start_with("") + "\n ", {}},
        {"brackets_in_strings_do_not_count", start_with(R"(,"metadata":{"x":")" + std::string(200, '[') + "\"}"), {}},
    };
}

class ParseTable : public ::testing::TestWithParam<Case> {};

TEST_P(ParseTable, GivesTheReasonOfTheFirstFailingStep) {
    const auto& c = GetParam();
    const auto r = parse_request(c.body);
    if (c.error.empty()) {
        ASSERT_TRUE(r.request.has_value()) << "rejected with " << r.error;
        EXPECT_TRUE(r.error.empty());
    } else {
        EXPECT_FALSE(r.request.has_value());
        EXPECT_EQ(r.error, c.error);
    }
}

INSTANTIATE_TEST_SUITE_P(Request, ParseTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Request, StartGetsDefaults) {
    const auto r = parse_request(start_with(""));
    ASSERT_TRUE(r.request);
    EXPECT_EQ(r.request->action, Action::start);
    EXPECT_EQ(r.request->call_guid, "G1");
    EXPECT_EQ(*r.request->host, "asr.lab.example");
    EXPECT_EQ(*r.request->port, 8443);
    EXPECT_EQ(*r.request->secure, true);
    EXPECT_EQ(*r.request->path, "/");
    EXPECT_FALSE(r.request->token);
    EXPECT_FALSE(r.request->codec);
    EXPECT_EQ(*r.request->metadata, nlohmann::json::object());
}

TEST(Request, StartKeepsGivenValues) {
    const auto r = parse_request(start_with(
        R"(,"secure":false,"path":"/v1/fork","token":"tok","codec":"g711alaw","metadata":{"agent":"1001"})"));
    ASSERT_TRUE(r.request);
    EXPECT_FALSE(*r.request->secure);
    EXPECT_EQ(*r.request->path, "/v1/fork");
    EXPECT_EQ(*r.request->token, "tok");
    EXPECT_EQ(*r.request->codec, G711::alaw);
    EXPECT_EQ((*r.request->metadata)["agent"], "1001");
}

TEST(Request, GuidIsReportedWhenValidEvenIfTheRequestIsNot) {
    auto r = parse_request(R"({"action":"START","call-guid":"ABC","host":"h","port":"80"})");
    EXPECT_EQ(r.error, reason::unexpected_format);
    EXPECT_EQ(r.call_guid, "ABC");
    EXPECT_EQ(r.action, Action::start);

    r = parse_request(R"({"action":"NOPE","call-guid":"ABC"})");
    EXPECT_EQ(r.call_guid, "ABC");
    EXPECT_FALSE(r.action);

    r = parse_request(R"({"action":"STOP","call-guid":""})");
    EXPECT_FALSE(r.call_guid);

    r = parse_request("{");
    EXPECT_FALSE(r.call_guid);
}

TEST(Request, UpdateCarriesOnlyWhatItNames) {
    const auto r = parse_request(R"({"action":"UPDATE","call-guid":"G","metadata":{"a":1},"port":8443})");
    ASSERT_TRUE(r.request);
    EXPECT_FALSE(r.request->host);
    EXPECT_EQ(*r.request->port, 8443);
    EXPECT_FALSE(r.request->secure);
    EXPECT_FALSE(r.request->path);
}

// Bare or bracketed, an IPv6 literal is kept bare and canonical: one server.
TEST(Request, Ipv6HostIsKeptBareAndCanonical) {
    for (const char* host : {"[::1]", "::1", "0:0::1", "[0000::0001]"}) {
        const auto r = parse_request(std::string(R"({"action":"START","call-guid":"G","port":1,"host":")") + host +
                                     "\"}");
        ASSERT_TRUE(r.request) << host;
        EXPECT_EQ(*r.request->host, "::1") << host;
    }
    const auto r = parse_request(R"({"action":"START","call-guid":"G","port":1,"host":"[2001:DB8::A]"})");
    ASSERT_TRUE(r.request);
    EXPECT_EQ(*r.request->host, "2001:db8::a");
    const stream::Target start{"::1", 8443, true, "/", "", 9};
    const auto update = parse_request(R"({"action":"UPDATE","call-guid":"G","metadata":{},"host":"[::1]"})");
    ASSERT_TRUE(update.request);
    EXPECT_TRUE(update_matches_start(*update.request, start));
}

TEST(Request, UpdateMustMatchTheStartsServer) {
    const stream::Target start{"asr", 8443, true, "/v1", "tok", 9};
    auto upd = [](const std::string& extra) {
        return *parse_request(R"({"action":"UPDATE","call-guid":"G","metadata":{})" + extra + "}").request;
    };
    EXPECT_TRUE(update_matches_start(upd(""), start));
    EXPECT_TRUE(
        update_matches_start(upd(R"(,"host":"asr","port":8443,"secure":true,"path":"/v1","token":"tok")"), start));
    EXPECT_FALSE(update_matches_start(upd(R"(,"host":"other")"), start));
    EXPECT_FALSE(update_matches_start(upd(R"(,"port":8444)"), start));
    EXPECT_FALSE(update_matches_start(upd(R"(,"secure":false)"), start));
    EXPECT_FALSE(update_matches_start(upd(R"(,"path":"/v2")"), start));
    EXPECT_FALSE(update_matches_start(upd(R"(,"token":"x")"), start));
}

TEST(Request, CodecNames) {
    EXPECT_EQ(codec_name(G711::ulaw), "g711ulaw");
    EXPECT_EQ(payload_type(G711::ulaw), 0);
    EXPECT_EQ(payload_type(G711::alaw), 8);
    EXPECT_EQ(g711_from_name("g711alaw"), G711::alaw);
    EXPECT_FALSE(g711_from_name("opus"));
}

}  // namespace
}  // namespace voxfork::fork
