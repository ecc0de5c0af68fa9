// `show running-config | json`: the configuration in effect, numbers as numbers.
#include <gmock/gmock.h>

#include "test_support.hpp"
#include "voxfork/config_json.hpp"

namespace voxfork::config {
namespace {

using nlohmann::json;

TEST(Json, CarriesEveryValueInEffectWithNumbersAsNumbers) {
    const Config c = testing::ok(
        "hostname sbc-lab\n"
        "voice service voip\n rtp-port range 20000 29999\n ip address trusted list\n  ipv4 127.0.0.0 255.0.0.0\n"
        "  ipv6 ::1\n"
        " sip\n  listen-port non-secure 5070\n"
        "ip host Agents.Lab 127.0.0.6\nip host v6.lab 2001:db8::6\nip name-server 127.0.0.1:5353 [::1]:5354\n"
        "media profile stream-service 99\n description lab\n connection calls-threshold 5\n"
        " secure-ciphersuite ecdhe-rsa-aes-gcm-sha2\n tls-version 1.2 1.3\n proxy ip 127.0.0.1 port 3128\n"
        "media class 9\n stream-service profile 99\n"
        "dial-peer voice 901 voip\n destination-pattern 6777\n session protocol sipv2\n"
        " session target ipv4:127.0.0.1:7052\n media-class 9\n codec g711ulaw\n"
        "license usage interval 600\n");
    const json j = to_json(c);
    EXPECT_EQ(j["hostname"], "sbc-lab");
    EXPECT_EQ(j["voice_service_voip"]["rtp_port_range"], (json{{"min", 20000}, {"max", 29999}}));
    EXPECT_EQ(j["voice_service_voip"]["trusted_list"],
              (json::array({{{"address", "127.0.0.0"}, {"mask", "255.0.0.0"}, {"prefix_length", 8}},
                            {{"address", "::1"}, {"prefix_length", 128}}})));
    EXPECT_EQ(j["voice_service_voip"]["sip"],
              (json{{"control_address", "127.0.0.1"}, {"media_address", "127.0.0.1"}, {"listen_port", 5070}}));
    EXPECT_EQ(j["ip_hosts"], (json{{"agents.lab", "127.0.0.6"}, {"v6.lab", "2001:db8::6"}}));
    EXPECT_EQ(j["ip_name_servers"],
              (json::array({{{"address", "127.0.0.1"}, {"port", 5353}}, {{"address", "::1"}, {"port", 5354}}})));
    const json& p = j["media_profiles"].at(0);
    EXPECT_EQ(p["tag"], 99);
    EXPECT_EQ(p["calls_threshold"], 5);
    EXPECT_EQ(p["idle_timeout_minutes"], 30);  // a default: present, unlike in the text
    EXPECT_EQ(p["secure_ciphersuites"], (json{"ecdhe-rsa-aes-gcm-sha2"}));
    EXPECT_EQ(p["tls_versions"], (json{"1.2", "1.3"}));
    EXPECT_EQ(p["proxy"], (json{{"kind", "ip"}, {"host", "127.0.0.1"}, {"port", 3128}}));
    EXPECT_TRUE(p["source_ip"].is_null());
    EXPECT_EQ(j["media_classes"], (json::array({{{"tag", 9}, {"stream_service_profile", 99}}})));
    const json& d = j["dial_peers"].at(0);
    EXPECT_EQ(d["tag"], 901);
    EXPECT_EQ(d["destination_pattern"], "6777");
    EXPECT_TRUE(d["incoming_called_number"].is_null());
    EXPECT_EQ(d["session_target"], (json{{"kind", "ipv4"}, {"host", "127.0.0.1"}, {"port", 7052}}));
    EXPECT_EQ(d["session_transport"], "udp");
    EXPECT_EQ(d["media_class"], 9);
    EXPECT_EQ(d["codec"], "g711ulaw");
    EXPECT_EQ(d["shutdown"], false);
    EXPECT_EQ(j["license_usage_interval_seconds"], 600);
    EXPECT_EQ(j["logging_level"], "info");
    EXPECT_EQ(j["control_socket"], "/run/voxfork/voxforkd.sock");
}

// Masked as the text masks it (`show running-config | json` is the same show).
TEST(Json, TheClientSecretIsMaskedAsInTheText) {
    const json j = to_json(testing::ok("media profile stream-service 1\n audiohook client-secret c2VjcmV0LWtleQ==\n"
                                       "media profile stream-service 2\n"));
    EXPECT_EQ(j["media_profiles"].at(0)["audiohook_client_secret"], "c2VjcmV0****");
    EXPECT_TRUE(j["media_profiles"].at(1)["audiohook_client_secret"].is_null());
}

TEST(Json, Ipv6AddressesAppearOnlyWhenConfigured) {
    const json j = to_json(testing::ok("voice service voip\n sip\n  bind control source-address ::1\n"
                                       "dial-peer voice 1 voip\n session target ipv6:[::1]:7060\n"));
    EXPECT_EQ(j["voice_service_voip"]["sip"],
              (json{{"control_address", "127.0.0.1"},
                    {"control_address_ipv6", "::1"},
                    {"media_address", "127.0.0.1"},
                    {"media_address_ipv6", "::1"},
                    {"listen_port", 5060}}));
    EXPECT_EQ(j["dial_peers"].at(0)["session_target"], (json{{"kind", "ipv6"}, {"host", "::1"}, {"port", 7060}}));
    EXPECT_FALSE(to_json(Config{})["voice_service_voip"]["sip"].contains("control_address_ipv6"));
}

TEST(Json, DefaultsAreSpelledOut) {
    const json j = to_json(Config{});
    EXPECT_EQ(j["hostname"], "voxfork");
    EXPECT_EQ(j["voice_service_voip"]["rtp_port_range"]["min"], 16384);
    EXPECT_EQ(j["voice_service_voip"]["sip"]["listen_port"], 5060);
    EXPECT_TRUE(j["voice_service_voip"]["trusted_list"].empty());
    EXPECT_TRUE(j["dial_peers"].is_array());
    EXPECT_TRUE(j["http_client_secure_trustpoint"].is_null());
    Config c;
    c.stream_service_profiles[1].tag = 1;
    EXPECT_EQ(to_json(c)["media_profiles"][0]["secure_ciphersuites"].size(), 6u);  // the default: all six
}

}  // namespace
}  // namespace voxfork::config
