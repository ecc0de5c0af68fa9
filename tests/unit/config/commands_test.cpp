// Each command of voxforkd.conf(5): its effect, its default, its `no` form, and one
// case per kind of bad value.
#include <gmock/gmock.h>

#include "test_support.hpp"

namespace voxfork::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::errors;
using testing::network;
using testing::ok;

TEST(ConfigDefaults, EmptyFileGivesTheDefaultsOfConfigMd) {
    const Config c = ok("");
    EXPECT_EQ(c, Config{});
    EXPECT_EQ(c.hostname, "voxfork");
    EXPECT_EQ(c.voip.rtp_port_min, 16384);
    EXPECT_EQ(c.voip.rtp_port_max, 32767);
    EXPECT_TRUE(c.voip.trusted.empty());
    EXPECT_EQ(c.voip.sip.control_address, "127.0.0.1");
    EXPECT_EQ(c.voip.sip.effective_media_address(), "127.0.0.1");
    EXPECT_EQ(c.voip.sip.listen_port, 5060);
    EXPECT_TRUE(c.name_servers.empty());
    EXPECT_EQ(c.license_usage_interval_seconds, 3600);
    EXPECT_EQ(c.control_socket, "/run/voxfork/voxforkd.sock");
    EXPECT_EQ(c.logging_level, LogLevel::info);
    EXPECT_FALSE(c.http_client_secure_trustpoint);
}

TEST(ConfigDefaults, NewBlocksStartWithTheirDefaults) {
    const Config c =
        ok("media profile stream-service 5\nmedia class 6\ndial-peer voice 7 voip\ncrypto pki trustpoint t\n");
    const auto& p = c.stream_service_profiles.at(5);
    EXPECT_EQ(p.tag, 5u);
    EXPECT_EQ(p.calls_threshold, 3);
    EXPECT_EQ(p.idle_timeout_minutes, 30);
    EXPECT_TRUE(p.ciphersuites.empty());
    EXPECT_FALSE(p.allow_tls13);
    EXPECT_FALSE(p.proxy);
    EXPECT_EQ(c.media_classes.at(6).tag, 6u);
    EXPECT_FALSE(c.media_classes.at(6).stream_service_profile);
    const auto& d = c.dial_peers.at(7);
    EXPECT_EQ(d.tag, 7u);
    EXPECT_EQ(d.transport, Transport::udp);
    EXPECT_EQ(d.rtp_latching, RtpLatching::learn);
    EXPECT_FALSE(d.codec);
    EXPECT_FALSE(d.shutdown);
    EXPECT_EQ(c.trustpoints.at("t").name, "t");
}

TEST(GlobalCommands, SetTheirValues) {
    const Config c =
        ok("hostname sbc-lab\n"
           "ip host asr.lab.example 127.0.0.9\n"
           "ip name-server 127.0.0.1 127.0.0.2:5353\n"
           "ip name-server 127.0.0.3 127.0.0.1\n"  // appends; the repeated server is dropped
           "license usage interval 86400\n"
           "control-socket /tmp/x.sock\n"
           "logging level debug\n"
           "metrics listen 127.0.0.2:9464\n");
    EXPECT_EQ(c.hostname, "sbc-lab");
    EXPECT_EQ(c.metrics_listen, (MetricsListen{0x7f000002u, 9464}));
    EXPECT_EQ(c.ip_hosts.at("asr.lab.example"), net::Address::v4(0x7f000009u));
    ASSERT_EQ(c.name_servers.size(), 3u);
    EXPECT_EQ(c.name_servers[0], (NameServer{net::Address::v4(0x7f000001u), 53}));
    EXPECT_EQ(c.name_servers[1], (NameServer{net::Address::v4(0x7f000002u), 5353}));
    EXPECT_EQ(c.name_servers[2], (NameServer{net::Address::v4(0x7f000003u), 53}));
    EXPECT_EQ(c.license_usage_interval_seconds, 86400);
    EXPECT_EQ(c.control_socket, "/tmp/x.sock");
    EXPECT_EQ(c.logging_level, LogLevel::debug);
}

TEST(GlobalCommands, MetricsAreOffByDefaultAndOnLoopbackWithAPortAlone) {
    EXPECT_FALSE(ok("").metrics_listen);
    EXPECT_EQ(ok("metrics listen 9464\n").metrics_listen, (MetricsListen{0x7f000001u, 9464}));
    EXPECT_FALSE(ok("metrics listen 9464\nno metrics listen\n").metrics_listen);
    const Config c = ok("metrics listen 0.0.0.0:9100\n");
    EXPECT_EQ(print(c), "metrics listen 0.0.0.0:9100\n!\nend\n");
    EXPECT_EQ(ok(print(ok("metrics listen 9464\n"))).metrics_listen, (MetricsListen{0x7f000001u, 9464}));
}

TEST(GlobalCommands, LastOfARepeatedCommandWins) {
    const Config c = ok(
        "hostname a\nhostname b\nlogging level error\nlogging level warning\nip host h 127.0.0.1\nip host h 127.0.0.2\n");
    EXPECT_EQ(c.hostname, "b");
    EXPECT_EQ(c.logging_level, LogLevel::warning);
    EXPECT_EQ(c.ip_hosts.at("h"), net::Address::v4(0x7f000002u));
}

// Either family; IPv6 kept canonical (RFC 5952), as show running-config prints it.
TEST(GlobalCommands, IpHostTakesAnIpv6Address) {
    const Config c = ok("ip host v6.lab 2001:DB8:0:0::1\nip host both.lab ::1\nip host both.lab 127.0.0.1\n");
    EXPECT_EQ(c.ip_host("v6.lab"), net::Address::parse("2001:db8::1"));
    EXPECT_EQ(c.ip_host("v6.lab")->to_string(), "2001:db8::1");
    // One address per name, the last one given, whatever its family.
    EXPECT_EQ(c.ip_host("both.lab"), net::Address::v4(0x7f000001u));
}

// An IPv6 name server bare or in brackets, with a port only in brackets;
// `ip name-server ::1` and `ip name-server [::1]:53` are the same server.
TEST(GlobalCommands, NameServersTakeIpv6) {
    const Config c = ok("ip name-server 2001:DB8::53 [::1]:5353 [::2]\nip name-server 127.0.0.1 [2001:db8::53]:53\n");
    ASSERT_EQ(c.name_servers.size(), 4u);
    EXPECT_EQ(c.name_servers[0], (NameServer{*net::Address::parse("2001:db8::53"), 53}));
    EXPECT_EQ(c.name_servers[1], (NameServer{*net::Address::parse("::1"), 5353}));
    EXPECT_EQ(c.name_servers[2], (NameServer{*net::Address::parse("::2"), 53}));
    EXPECT_EQ(c.name_servers[3], (NameServer{net::Address::v4(0x7f000001u), 53}));
    const Config removed = ok("ip name-server ::1 [::2]:54\nno ip name-server [::1]\n");
    EXPECT_EQ(removed.name_servers, (std::vector<NameServer>{{*net::Address::parse("::2"), 54}}));
    EXPECT_EQ(print(c), "ip name-server 2001:db8::53 [::1]:5353 ::2 127.0.0.1\n!\nend\n");
    // Without brackets a colon belongs to the address: ::1:53 is an address, served on port 53.
    EXPECT_EQ(ok("ip name-server ::1:53\n").name_servers,
              (std::vector<NameServer>{{*net::Address::parse("::1:53"), 53}}));
    EXPECT_EQ(*parse(print(c), "again").config, c);
}

TEST(ProfileCommands, ProxyIpAndSourceIpTakeIpv6) {
    const Config c =
        ok("media profile stream-service 1\n proxy ip 0:0::1 port 3128\n source-ip 0000::1\n");
    const auto& p = c.stream_service_profiles.at(1);
    EXPECT_EQ(p.proxy, (Proxy{true, "::1", 3128}));
    EXPECT_EQ(p.source_ip, "::1");
}

TEST(GlobalCommands, IpHostNamesAreCaseInsensitive) {
    const Config c =
        ok("ip host Agents.LAB 127.0.0.1\nip host agents.lab. 127.0.0.2\nip host B.lab 127.0.0.3\n"
           "ip host c.lab 127.0.0.4\nno ip host C.LAB\n");
    EXPECT_EQ(c.ip_hosts, (std::map<std::string, net::Address>{{"agents.lab", net::Address::v4(0x7f000002u)},
                                                                {"b.lab", net::Address::v4(0x7f000003u)}}));
    EXPECT_EQ(c.ip_host("AGENTS.Lab"), net::Address::v4(0x7f000002u));
    EXPECT_EQ(c.ip_host("b.LAB."), net::Address::v4(0x7f000003u));
    EXPECT_EQ(c.ip_host("c.lab"), std::nullopt);
}

TEST(VoipCommands, SetTheirValues) {
    const Config c =
        ok("voice service voip\n"
           " rtp-port range 20000 29998\n"
           " ip address trusted list\n"
           "  ipv4 127.0.0.0 255.0.0.0\n"
           "  ipv4 127.0.0.1\n"
           "  ipv4 127.0.0.1\n"
           " sip\n"
           "  bind control source-address 127.0.0.2\n"
           "  bind media source-address 127.0.0.3\n"
           "  listen-port non-secure 5070\n");
    EXPECT_EQ(c.voip.rtp_port_min, 20000);
    EXPECT_EQ(c.voip.rtp_port_max, 29998);
    EXPECT_THAT(c.voip.trusted, ElementsAre(network("127.0.0.0/8"), network("127.0.0.1/32")));
    EXPECT_EQ(c.voip.sip.control_address, "127.0.0.2");
    EXPECT_EQ(c.voip.sip.effective_media_address(), "127.0.0.3");
    EXPECT_EQ(c.voip.sip.listen_port, 5070);
}

TEST(VoipCommands, RtpRangeMaxMayBeOdd) {
    // As the default 16384 32767 and voxforkd.conf(5)'s example 20000 29999 are.
    const Config c = ok("voice service voip\n rtp-port range 20000 29999\n");
    EXPECT_EQ(c.voip.rtp_port_min, 20000);
    EXPECT_EQ(c.voip.rtp_port_max, 29999);
    EXPECT_EQ(ok("voice service voip\n rtp-port range 2000 2001\n").voip.rtp_port_max, 2001);
}

TEST(VoipCommands, RangeLimitsAreInclusive) {
    const Config c = ok("voice service voip\n rtp-port range 1024 65534\n sip\n  listen-port non-secure 1\n");
    EXPECT_EQ(c.voip.rtp_port_min, 1024);
    EXPECT_EQ(c.voip.rtp_port_max, 65534);
    EXPECT_EQ(c.voip.sip.listen_port, 1);
}

TEST(ProfileCommands, SetTheirValues) {
    const Config c =
        ok("media profile stream-service 99\n"
           " description lab speech server ! with a bang\n"
           " connection calls-threshold 20\n"
           " connection idle-timeout 1440\n"
           " secure-ciphersuite ecdhe-rsa-aes-gcm-sha2 aes-128-cbc-sha ecdhe-rsa-aes-gcm-sha2\n"
           " tls-version 1.2 1.3\n"
           " proxy host proxy.lab.example port 3128\n"
           " source-ip 127.0.0.1\n");
    const auto& p = c.stream_service_profiles.at(99);
    EXPECT_EQ(p.description, "lab speech server ! with a bang");
    EXPECT_EQ(p.calls_threshold, 20);
    EXPECT_EQ(p.idle_timeout_minutes, 1440);
    EXPECT_THAT(p.ciphersuites, ElementsAre(CipherSuite::ecdhe_rsa_aes_gcm_sha2, CipherSuite::aes_128_cbc_sha));
    EXPECT_TRUE(p.allow_tls13);
    EXPECT_EQ(p.proxy, (Proxy{false, "proxy.lab.example", 3128}));
    EXPECT_EQ(p.source_ip, "127.0.0.1");
}

TEST(ProfileCommands, ProxyIpTlsOnlyTwelveAndCiphersuiteReplacement) {
    const Config c =
        ok("media profile stream-service 1\n"
           " tls-version 1.2 1.3\n"
           " tls-version 1.2\n"
           " secure-ciphersuite rsa-aes-cbc-sha2\n"
           " secure-ciphersuite dhe-rsa-aes-cbc-sha2 ecdhe-ecdsa-aes-gcm-sha2 ecdhe-rsa-aes-cbc-sha2\n"
           " proxy ip 127.0.0.1 port 1\n");
    const auto& p = c.stream_service_profiles.at(1);
    EXPECT_FALSE(p.allow_tls13);
    EXPECT_THAT(p.ciphersuites, ElementsAre(CipherSuite::dhe_rsa_aes_cbc_sha2, CipherSuite::ecdhe_ecdsa_aes_gcm_sha2,
                                            CipherSuite::ecdhe_rsa_aes_cbc_sha2));
    EXPECT_EQ(p.proxy, (Proxy{true, "127.0.0.1", 1}));
}

TEST(ProfileCommands, ProtocolsMdCommandsAndTheirDefaults) {
    const auto defaults = ok("media profile stream-service 1\n").stream_service_profiles.at(1);
    EXPECT_EQ(defaults.protocol, StreamProtocol::voxfork_v1);
    EXPECT_EQ(defaults.audiohook_organization_id, "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(defaults.audiohook_client_secret, "");
    EXPECT_EQ(defaults.raw_layout, RawLayout::separate);
    EXPECT_EQ(defaults.raw_auth_scheme, "Bearer");
    EXPECT_EQ(defaults.reconnect_window_seconds, 0);

    const Config c =
        ok("media profile stream-service 2\n"
           " protocol audiohook\n"
           " audiohook organization-id 4D7E1B2A-0C3F-4E5D-9A8B-7C6D5E4F3A2B\n"
           " audiohook client-secret c2VjcmV0\n"
           " raw layout interleaved\n"
           " raw auth-scheme Token\n"
           " raw stop-message {\"type\":\"end\"} ! kept\n"
           " raw keepalive-message {\"type\":\"keepalive\"}\n"
           " connection reconnect window 300\n");
    const auto& p = c.stream_service_profiles.at(2);
    EXPECT_EQ(p.protocol, StreamProtocol::audiohook);
    EXPECT_EQ(p.audiohook_organization_id, "4d7e1b2a-0c3f-4e5d-9a8b-7c6d5e4f3a2b");  // stored lower case
    EXPECT_EQ(p.audiohook_client_secret, "c2VjcmV0");
    EXPECT_EQ(p.raw_layout, RawLayout::interleaved);
    EXPECT_EQ(p.raw_auth_scheme, "Token");
    EXPECT_EQ(p.raw_stop_message, "{\"type\":\"end\"} ! kept");
    EXPECT_EQ(p.raw_keepalive_message, "{\"type\":\"keepalive\"}");
    EXPECT_EQ(p.reconnect_window_seconds, 300);
    EXPECT_EQ(ok("media profile stream-service 3\n protocol raw\n").stream_service_profiles.at(3).protocol,
              StreamProtocol::raw);
}

TEST(ProfileCommands, ProtocolsMdCommandsRefuseBadValuesWithTheLine) {
    EXPECT_THAT(errors("media profile stream-service 1\n protocol sip\n"),
                ElementsAre("2: unknown protocol \"sip\" for \"protocol\" (expected voxfork-v1, audiohook or raw)"));
    EXPECT_THAT(errors("media profile stream-service 1\n audiohook client-secret not*base64\n"),
                ElementsAre(HasSubstr("2: invalid BASE64 secret for \"audiohook client-secret\"")));
    EXPECT_THAT(errors("media profile stream-service 1\n audiohook client-secret abc\n"),
                ElementsAre(HasSubstr("2: invalid BASE64 secret")));
    EXPECT_THAT(errors("media profile stream-service 1\n connection reconnect window 301\n"),
                ElementsAre("2: value 301 out of range 0-300 for \"connection reconnect window\""));
    EXPECT_THAT(errors("media profile stream-service 1\n connection reconnect window -1\n"),
                ElementsAre(HasSubstr("2: ")));
    EXPECT_THAT(errors("media profile stream-service 1\n audiohook organization-id 1234\n"),
                ElementsAre(HasSubstr("2: invalid UUID \"1234\"")));
    EXPECT_THAT(errors("media profile stream-service 1\n raw layout mixed\n"),
                ElementsAre(HasSubstr("2: unknown layout \"mixed\"")));
    EXPECT_THAT(errors("media profile stream-service 1\n raw auth-scheme Bad:Scheme\n"),
                ElementsAre(HasSubstr("2: invalid WORD \"Bad:Scheme\"")));
}

TEST(ProfileCommands, RunningConfigMasksTheClientSecret) {
    const Config c = ok("media profile stream-service 1\n audiohook client-secret c2VjcmV0LWtleQ==\n");
    EXPECT_THAT(print(c, Secrets::masked), HasSubstr(" audiohook client-secret c2VjcmV0****\n"));
    EXPECT_THAT(print(c), HasSubstr(" audiohook client-secret c2VjcmV0LWtleQ==\n"));
}

TEST(ProfileCommands, DescriptionLimitCountsCharactersNotBytes) {
    std::string accents;
    for (int i = 0; i < 64; ++i) accents += "\xc3\xa9";  // é, two bytes each
    EXPECT_EQ(
        ok("media profile stream-service 1\n description " + accents + "\n").stream_service_profiles.at(1).description,
        accents);
    EXPECT_THAT(errors("media profile stream-service 1\n description " + accents + "x\n"),
                ElementsAre("2: TEXT for \"description\" is too long (65 characters, at most 64)"));
}

TEST(ClassAndTrustpointCommands, SetTheirValues) {
    const Config c =
        ok("media profile stream-service 99\n"
           "media class 9\n"
           " stream-service profile 99\n"
           "crypto pki trustpoint ECDSA-DM\n"
           " enrollment terminal pem\n"
           " serial-number\n"
           " subject-name cn=MYSUB, o=Lab\n"
           " revocation-check none\n"
           " ca-file /etc/voxfork/ca.pem ! PEM\n"
           "crypto pki trustpoint plain\n"
           " enrollment terminal\n"
           "http client secure-trustpoint ECDSA-DM\n");
    EXPECT_EQ(c.media_classes.at(9).stream_service_profile, 99u);
    const auto& t = c.trustpoints.at("ECDSA-DM");
    EXPECT_TRUE(t.enrollment_terminal);
    EXPECT_TRUE(t.enrollment_pem);
    EXPECT_TRUE(t.serial_number);
    EXPECT_EQ(t.subject_name, "cn=MYSUB, o=Lab");
    EXPECT_TRUE(t.revocation_check_none);
    EXPECT_EQ(t.ca_file, "/etc/voxfork/ca.pem");
    EXPECT_TRUE(c.trustpoints.at("plain").enrollment_terminal);
    EXPECT_FALSE(c.trustpoints.at("plain").enrollment_pem);
    EXPECT_EQ(c.http_client_secure_trustpoint, "ECDSA-DM");
    EXPECT_EQ(c.websocket_ca_file(), "/etc/voxfork/ca.pem");
}

TEST(DialPeerCommands, SetTheirValues) {
    const Config c =
        ok("media profile stream-service 99\n"
           "media class 9\n"
           " stream-service profile 99\n"
           "dial-peer voice 901 voip\n"
           " description to the lab peer\n"
           " destination-pattern 6777\n"
           " session protocol sipv2\n"
           " session target ipv4:127.0.0.1:7052\n"
           " session transport tcp\n"
           " rtp latching strict\n"
           " incoming called-number 1[2-4].T\n"
           " media-class 9\n"
           " codec g711alaw\n"
           " dtmf-relay rtp-nte\n"
           " shutdown\n"
           "dial-peer voice 2147483647 voip\n"
           " session target dns:sip.lab.example\n"
           " codec opus\n");
    const auto& d = c.dial_peers.at(901);
    EXPECT_EQ(d.description, "to the lab peer");
    EXPECT_EQ(d.destination_pattern, "6777");
    EXPECT_TRUE(d.session_protocol_sipv2);
    EXPECT_EQ(d.session_target, (SessionTarget{SessionTarget::Kind::ipv4, "127.0.0.1", 7052}));
    EXPECT_EQ(d.transport, Transport::tcp);
    EXPECT_EQ(d.rtp_latching, RtpLatching::strict);
    EXPECT_EQ(d.incoming_called_number, "1[2-4].T");
    EXPECT_EQ(d.media_class, 9u);
    EXPECT_EQ(d.codec, Codec::g711alaw);
    EXPECT_TRUE(d.dtmf_relay_rtp_nte);
    EXPECT_TRUE(d.shutdown);
    EXPECT_EQ(c.profile_for_dial_peer(901), &c.stream_service_profiles.at(99));
    const auto& big = c.dial_peers.at(2147483647u);
    EXPECT_EQ(big.session_target, (SessionTarget{SessionTarget::Kind::dns, "sip.lab.example", 5060}));
    EXPECT_EQ(big.codec, Codec::opus);
    EXPECT_EQ(c.profile_for_dial_peer(2147483647u), nullptr);
    EXPECT_EQ(c.profile_for_dial_peer(12345), nullptr);
}

TEST(DialPeerCommands, Ipv6TargetsTakeTheAddressInBrackets) {
    const Config c = ok("dial-peer voice 1 voip\n session target ipv6:[::1]:7060\n"
                        "dial-peer voice 2 voip\n session target IPV6:[2001:DB8:0:0::5]\n");
    EXPECT_EQ(c.dial_peers.at(1).session_target, (SessionTarget{SessionTarget::Kind::ipv6, "::1", 7060}));
    // Kept in the canonical form (RFC 5952), the port 5060 by default.
    EXPECT_EQ(c.dial_peers.at(2).session_target, (SessionTarget{SessionTarget::Kind::ipv6, "2001:db8::5", 5060}));
    EXPECT_EQ(to_string(*c.dial_peers.at(1).session_target), "ipv6:[::1]:7060");
    EXPECT_EQ(to_string(*c.dial_peers.at(2).session_target), "ipv6:[2001:db8::5]");
}

TEST(VoipCommands, BindTakesOneAddressPerFamily) {
    const Config c = ok(
        "voice service voip\n sip\n"
        "  bind control source-address ::1\n  bind control source-address 127.0.0.2\n"
        "  bind media source-address 0::0:1\n  bind control source-address 2001:db8::9\n");
    const SipSettings& sip = c.voip.sip;
    EXPECT_EQ(sip.control_address, "127.0.0.2");        // the IPv4 one
    EXPECT_EQ(sip.control_address_ipv6, "2001:db8::9");  // the last IPv6 one wins
    EXPECT_EQ(sip.media_address_ipv6, "::1");            // canonical text
    EXPECT_FALSE(sip.media_address);
    EXPECT_EQ(sip.effective_media_address(), "127.0.0.2");
    EXPECT_EQ(sip.effective_media_address_ipv6(), "::1");

    // Without its own, the IPv6 media address is the IPv6 control address;
    // spelled out equal to it, it is stored as that default.
    const Config same = ok("voice service voip\n sip\n  bind control source-address ::1\n"
                           "  bind media source-address ::1\n");
    EXPECT_FALSE(same.voip.sip.media_address_ipv6);
    EXPECT_EQ(same.voip.sip.effective_media_address_ipv6(), "::1");
    EXPECT_FALSE(Config{}.voip.sip.effective_media_address_ipv6());
}

TEST(NoForms, BindWithAnAddressClearsThatFamilyOnly) {
    const std::string both = "voice service voip\n sip\n  bind control source-address 127.0.0.2\n"
                             "  bind control source-address ::1\n  bind media source-address 127.0.0.3\n"
                             "  bind media source-address ::2\n";
    const Config v6 = ok(both + "  no bind control source-address ::1\n  no bind media source-address ::2\n");
    EXPECT_EQ(v6.voip.sip.control_address, "127.0.0.2");
    EXPECT_EQ(v6.voip.sip.media_address, "127.0.0.3");
    EXPECT_FALSE(v6.voip.sip.control_address_ipv6);
    EXPECT_FALSE(v6.voip.sip.media_address_ipv6);
    const Config v4 = ok(both + "  no bind control source-address 127.0.0.2\n  no bind media source-address 127.0.0.3\n");
    EXPECT_EQ(v4.voip.sip.control_address, "127.0.0.1");
    EXPECT_FALSE(v4.voip.sip.media_address);
    EXPECT_EQ(v4.voip.sip.control_address_ipv6, "::1");
    EXPECT_EQ(v4.voip.sip.media_address_ipv6, "::2");
    const Config all = ok(both + "  no bind control source-address\n  no bind media source-address\n");
    EXPECT_EQ(all.voip.sip, SipSettings{});
}

TEST(DialPeerCommands, EveryCodecName) {
    for (const auto codec : {Codec::g711ulaw, Codec::g711alaw, Codec::g729, Codec::g722, Codec::opus}) {
        const Config c = ok("dial-peer voice 1 voip\n codec " + std::string(to_string(codec)) + "\n");
        EXPECT_EQ(c.dial_peers.at(1).codec, codec);
    }
}

TEST(BlockCommands, OpeningABlockAgainEditsIt) {
    const Config c = ok("dial-peer voice 5 voip\n codec g729\n!\ndial-peer voice 5 voip\n shutdown\n");
    EXPECT_EQ(c.dial_peers.at(5).codec, Codec::g729);
    EXPECT_TRUE(c.dial_peers.at(5).shutdown);
}

TEST(NoForms, RestoreDefaultsAndRemoveEntries) {
    const Config c =
        ok("hostname x\nno hostname\n"
           "logging level debug\nno logging level debug\n"
           "license usage interval 10\nno license usage interval\n"
           "control-socket /tmp/s\nno control-socket\n"
           "ip host a 127.0.0.1\nip host b 127.0.0.2\nno ip host a\n"
           "ip name-server 127.0.0.1 127.0.0.2:54\nno ip name-server 127.0.0.2:54\n"
           "voice service voip\n"
           " rtp-port range 2000 3000\n no rtp-port range 2000 3000\n"
           " ip address trusted list\n  ipv4 127.0.0.1\n  ipv4 127.0.0.2\n  no ipv4 127.0.0.1\n"
           " sip\n  listen-port non-secure 9\n  bind media source-address 127.0.0.4\n  no bind media source-address\n");
    Config expected;
    expected.ip_hosts["b"] = net::Address::v4(0x7f000002u);
    expected.name_servers = {NameServer{net::Address::v4(0x7f000001u), 53}};
    expected.voip.trusted = {network("127.0.0.2/32")};
    expected.voip.sip.listen_port = 9;
    EXPECT_EQ(c, expected);
}

// As on IOS, an address with host bits set stands for its network.
TEST(TrustedList, HostBitsOutsideTheMaskAreAcceptedAsTheNetwork) {
    const Config c =
        ok("voice service voip\n ip address trusted list\n"
           "  ipv4 127.0.0.1 255.0.0.0\n"
           "  ipv4 127.0.0.0 255.0.0.0\n"  // the same entry: not added twice
           "  ipv4 10.1.2.3 255.255.0.0\n"
           "  ipv4 192.168.7.9 0.0.0.0\n"
           "  no ipv4 192.168.0.1 0.0.0.0\n");  // removes the 0.0.0.0/0 entry
    EXPECT_THAT(c.voip.trusted, ElementsAre(network("127.0.0.0/8"), network("10.1.0.0/16")));
    EXPECT_THAT(print(c), HasSubstr("  ipv4 127.0.0.0 255.0.0.0\n  ipv4 10.1.0.0 255.255.0.0\n"));
}

TEST(TrustedList, Ipv6PrefixesBesideIpv4Networks) {
    const Config c =
        ok("voice service voip\n ip address trusted list\n"
           "  ipv4 10.0.0.0 255.0.0.0\n"
           "  ipv6 2001:DB8:0:0::7/32\n"  // host bits cleared, printed canonically
           "  ipv6 2001:db8::/32\n"       // the same entry: not added twice
           "  ipv6 ::1\n"                 // a host
           "  ipv6 fd00::/8\n"
           "  no ipv6 fd12::/8\n");       // removes the fd00::/8 entry
    EXPECT_THAT(c.voip.trusted,
                ElementsAre(network("10.0.0.0/8"), network("2001:db8::/32"), network("::1/128")));
    EXPECT_THAT(print(c), HasSubstr("  ipv4 10.0.0.0 255.0.0.0\n  ipv6 2001:db8::/32\n  ipv6 ::1/128\n"));
    EXPECT_EQ(ok(print(c)), c);
}

TEST(NoForms, RemoveWholeBlocksAndSubModes) {
    const Config c =
        ok("voice service voip\n rtp-port range 2000 3000\n sip\n  listen-port non-secure 9\n"
           " ip address trusted list\n  ipv4 127.0.0.1\n"
           "voice service voip\n no sip\n no ip address trusted list\n"
           "media profile stream-service 1\nno media profile stream-service 1\n"
           "media class 1\nno media class 1\n"
           "crypto pki trustpoint t\nno crypto pki trustpoint t\n"
           "http client secure-trustpoint t\nno http client secure-trustpoint\n"
           "dial-peer voice 900 voip\nno dial-peer voice 900 voip\n"
           "dial-peer voice 901 voip\nno dial-peer voice 901\n"
           "no dial-peer voice 902 voip\n"  // removing what is not there is not an error
           "ip name-server 127.0.0.1\nno ip name-server\n");
    Config expected;
    expected.voip.rtp_port_min = 2000;
    expected.voip.rtp_port_max = 3000;
    EXPECT_EQ(c, expected);
    EXPECT_EQ(ok("voice service voip\n rtp-port range 2000 3000\nno voice service voip\n"), Config{});
}

TEST(NoForms, InsideBlocks) {
    const Config c = ok(
        "media profile stream-service 1\n description d\n no description\n connection calls-threshold 5\n"
        " no connection calls-threshold\n connection idle-timeout 5\n no connection idle-timeout\n"
        " secure-ciphersuite aes-128-cbc-sha\n no secure-ciphersuite\n tls-version 1.2 1.3\n no tls-version\n"
        " proxy ip 127.0.0.1 port 1\n no proxy\n source-ip 127.0.0.1\n no source-ip\n"
        "media class 2\n stream-service profile 1\n no stream-service profile\n"
        "crypto pki trustpoint t\n enrollment terminal pem\n no enrollment\n revocation-check none\n no revocation-check\n"
        " serial-number\n no serial-number\n subject-name x\n no subject-name\n ca-file /x\n no ca-file\n"
        "dial-peer voice 3 voip\n description d\n no description\n session protocol sipv2\n no session protocol\n"
        " session target ipv4:127.0.0.1\n no session target\n session transport tcp\n no session transport\n"
        " rtp latching strict\n no rtp latching\n incoming called-number 1\n no incoming called-number\n destination-pattern 1\n no destination-pattern\n"
        " codec g729\n no codec\n dtmf-relay rtp-nte\n no dtmf-relay\n media-class 2\n no media-class\n"
        " shutdown\n no shutdown\n");
    Config expected;
    expected.stream_service_profiles[1].tag = 1;
    expected.media_classes[2].tag = 2;
    expected.trustpoints["t"].name = "t";
    expected.dial_peers[3].tag = 3;
    EXPECT_EQ(c, expected);
}

// One bad command per row: the single error it gives, at line 1 unless the row is longer.
struct BadCase {
    const char* text;
    const char* error;  // a part of the message
};

class BadCommand : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadCommand, IsReportedAtItsLine) {
    const std::string text = GetParam().text;
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    const auto list = errors(text);
    ASSERT_EQ(list.size(), 1u) << ::testing::PrintToString(list);
    EXPECT_THAT(list[0], HasSubstr(GetParam().error));
    EXPECT_EQ(list[0].substr(0, list[0].find(':')), std::to_string(lines)) << "the error belongs on the last line";
}

#define VOIP "voice service voip\n"
#define SIP VOIP " sip\n"
#define TRUSTED VOIP " ip address trusted list\n"
#define PROFILE "media profile stream-service 1\n"
#define TP "crypto pki trustpoint t\n"
#define PEER "dial-peer voice 1 voip\n"

INSTANTIATE_TEST_SUITE_P(
    Global, BadCommand,
    ::testing::Values(
        BadCase{"hostname\n", "incomplete command \"hostname\" (expected hostname NAME)"},
        BadCase{"hostname a b\n", "unexpected argument \"b\" for \"hostname\""},
        BadCase{"hostname a/b\n", "invalid NAME \"a/b\" for \"hostname\""},
        BadCase{"voice service voip now\n", "unexpected argument \"now\" for \"voice service voip\""},
        BadCase{"ip host a\n", "incomplete command \"ip host a\""},
        BadCase{"ip host a..b 127.0.0.1\n", "invalid NAME \"a..b\" for \"ip host\""},
        BadCase{"ip host a 127.0.0\n", "invalid ADDR \"127.0.0\" for \"ip host\""},
        BadCase{"ip host a [::1]\n", "invalid ADDR \"[::1]\" for \"ip host\""},
        BadCase{"ip host a fe80::1%eth0\n", "invalid ADDR \"fe80::1%eth0\" for \"ip host\""},
        BadCase{"ip host a 2001:db8::1::2\n", "invalid ADDR \"2001:db8::1::2\" for \"ip host\""},
        BadCase{"no ip host\n", "missing NAME for \"ip host\""},
        BadCase{"ip name-server\n", "missing ADDR for \"ip name-server\""},
        BadCase{"ip name-server 127.0.0.1:0\n", "invalid name server \"127.0.0.1:0\""},
        BadCase{"ip name-server 127.0.0.1:65536\n", "invalid name server \"127.0.0.1:65536\""},
        BadCase{"ip name-server 127.0.0.1 dns.example\n", "invalid name server \"dns.example\""},
        BadCase{"ip name-server [::1]53\n", "invalid name server \"[::1]53\" for \"ip name-server\" (expected ADDR or "
                "ADDR:PORT, an IPv6 ADDR in brackets when a PORT follows, PORT 1-65535)"},
        BadCase{"ip name-server [::1]:0\n", "invalid name server \"[::1]:0\""},
        BadCase{"ip name-server [::1\n", "invalid name server \"[::1\""},
        BadCase{"ip name-server [127.0.0.1]\n", "invalid name server \"[127.0.0.1]\""},
        BadCase{"ip name-server [127.0.0.1]:53\n", "invalid name server \"[127.0.0.1]:53\""},
        BadCase{"ip name-server [fe80::1%eth0]\n", "invalid name server \"[fe80::1%eth0]\""},
        BadCase{"http client secure-trustpoint\n", "incomplete command"},
        BadCase{"license usage interval 9\n", "value 9 out of range 10-86400 for \"license usage interval\""},
        BadCase{"license usage interval 86401\n", "value 86401 out of range 10-86400"},
        BadCase{"license usage interval 99999999999999999999999\n", "value 99999999999999999999999 out of range"},
        BadCase{"license usage interval -5\n",
                "invalid SECONDS \"-5\" for \"license usage interval\" (expected a number 10-86400)"},
        BadCase{"control-socket\n", "missing PATH for \"control-socket\""},
        BadCase{"metrics listen\n", "incomplete command"},
        BadCase{"metrics listen 127.0.0.1:0\n", "invalid address \"127.0.0.1:0\" for \"metrics listen\""},
        BadCase{"metrics listen 127.0.0.1:65536\n", "invalid address \"127.0.0.1:65536\""},
        BadCase{"metrics listen 70000\n", "invalid address \"70000\" for \"metrics listen\" (expected ADDR:PORT or PORT, PORT 1-65535)"},
        BadCase{"metrics listen localhost:9464\n", "invalid address \"localhost:9464\""},
        BadCase{"metrics listen 127.0.0.1:9464 extra\n", "metrics listen"},
        BadCase{"logging level verbose\n",
                "unknown level \"verbose\" for \"logging level\" (expected debug, info, warning or error)"},
        BadCase{"foo bar\n", "unknown command \"foo bar\""}, BadCase{"no\n", "incomplete command \"no\""},
        BadCase{"no foo\n", "unknown command \"no foo\""}));

INSTANTIATE_TEST_SUITE_P(
    Voip, BadCommand,
    ::testing::Values(
        BadCase{VOIP " rtp-port range 20001 30000\n",
                "MIN 20001 for \"rtp-port range\" must be even (RTP uses even ports)"},
        BadCase{VOIP " rtp-port range 30000 20000\n", "MIN 30000 must be less than MAX 20000"},
        BadCase{VOIP " rtp-port range 20000 20000\n", "MIN 20000 must be less than MAX 20000"},
        BadCase{VOIP " rtp-port range 1022 2000\n", "value 1022 out of range 1024-65534 for \"rtp-port range\""},
        BadCase{VOIP " rtp-port range 2000 65536\n", "value 65536 out of range 1024-65534"},
        BadCase{VOIP " rtp-port range 2000\n",
                "incomplete command \"rtp-port range 2000\" (expected rtp-port range MIN MAX)"},
        BadCase{TRUSTED "  ipv4 256.0.0.1\n", "invalid ADDR \"256.0.0.1\" for \"ipv4\""},
        BadCase{TRUSTED "  ipv4 2001:db8::1\n", "invalid ADDR \"2001:db8::1\" for \"ipv4\""},
        BadCase{TRUSTED "  ipv6 10.0.0.0/8\n", "invalid PREFIX \"10.0.0.0/8\" for \"ipv6\""},
        BadCase{TRUSTED "  ipv6 2001:db8::/129\n", "invalid PREFIX \"2001:db8::/129\" for \"ipv6\""},
        BadCase{TRUSTED "  ipv6 [2001:db8::1]\n", "invalid PREFIX \"[2001:db8::1]\" for \"ipv6\""},
        BadCase{TRUSTED "  ipv6 fe80::1%eth0\n", "invalid PREFIX \"fe80::1%eth0\" for \"ipv6\""},
        BadCase{TRUSTED "  ipv6\n", "PREFIX"},
        BadCase{TRUSTED "  ipv6 ::1 x\n", "unexpected argument \"x\""},
        BadCase{TRUSTED "  ipv4 127.0.0.01\n", "invalid ADDR \"127.0.0.01\""},
        BadCase{TRUSTED "  ipv4 127.0.0.0 255.0.255.0\n",
                "invalid MASK \"255.0.255.0\" for \"ipv4\" (the one bits must be contiguous)"},
        BadCase{TRUSTED "  ipv4 127.0.0.1 255.255.255.255 x\n", "unexpected argument \"x\""},
        BadCase{TRUSTED "  ipv4\n", "missing ADDR for \"ipv4\""},
        BadCase{SIP "  bind control source-address localhost\n",
                "invalid ADDR \"localhost\" for \"bind control source-address\""},
        BadCase{SIP "  bind media source-address\n", "incomplete command"},
        BadCase{SIP "  bind media source-address [::1]\n",
                "invalid ADDR \"[::1]\" for \"bind media source-address\" (expected an IPv4 or IPv6 address like "
                "127.0.0.1 or ::1)"},
        BadCase{SIP "  bind control source-address fe80::1%lo\n", "invalid ADDR \"fe80::1%lo\""},
        BadCase{SIP "  no bind control source-address ::1 x\n", "unexpected argument \"x\""},
        BadCase{SIP "  no bind media source-address ::g\n", "invalid ADDR \"::g\""},
        BadCase{SIP "  listen-port non-secure 0\n", "value 0 out of range 1-65535 for \"listen-port non-secure\""},
        BadCase{SIP "  listen-port non-secure 65536\n", "value 65536 out of range 1-65535"},
        BadCase{SIP "  listen-port secure 5061\n", "unknown command \"listen-port secure 5061\""}));

INSTANTIATE_TEST_SUITE_P(
    Profile, BadCommand,
    ::testing::Values(
        BadCase{"media profile stream-service 99999\n",
                "value 99999 out of range 1-10000 for \"media profile stream-service\""},
        BadCase{"media profile stream-service 0\n", "value 0 out of range 1-10000"},
        BadCase{"media profile stream-service\n", "incomplete command"},
        BadCase{"media profile stream-service x\n", "invalid TAG \"x\" for \"media profile stream-service\""},
        BadCase{"no media profile stream-service\n", "missing TAG"},
        BadCase{PROFILE " description\n", "missing TEXT for \"description\""},
        BadCase{PROFILE " description 12345678901234567890123456789012345678901234567890123456789012345\n",
                "TEXT for \"description\" is too long (65 characters, at most 64)"},
        BadCase{PROFILE " connection calls-threshold 0\n",
                "value 0 out of range 1-20 for \"connection calls-threshold\""},
        BadCase{PROFILE " connection calls-threshold 21\n", "value 21 out of range 1-20"},
        BadCase{PROFILE " connection idle-timeout 0\n", "value 0 out of range 1-1440 for \"connection idle-timeout\""},
        BadCase{PROFILE " connection idle-timeout 1441\n", "value 1441 out of range 1-1440"},
        BadCase{PROFILE " connection foo 1\n", "unknown command \"connection foo 1\""},
        BadCase{PROFILE " secure-ciphersuite\n", "missing NAME for \"secure-ciphersuite\""},
        BadCase{PROFILE " secure-ciphersuite aes-128-cbc-sha rc4\n",
                "unknown cipher suite \"rc4\" for \"secure-ciphersuite\" (expected aes-128-cbc-sha,"},
        BadCase{PROFILE " tls-version 1.3\n", "expected \"tls-version 1.2\" or \"tls-version 1.2 1.3\""},
        BadCase{PROFILE " tls-version 1.2 1.4\n", "expected \"tls-version 1.2\" or \"tls-version 1.2 1.3\""},
        BadCase{PROFILE " tls-version 1.2 1.3 1.4\n", "unexpected argument \"1.4\" for \"tls-version\""},
        BadCase{PROFILE " tls-version\n", "missing 1.2 [1.3] for \"tls-version\""},
        BadCase{PROFILE " proxy host p.example\n", "incomplete command \"proxy host p.example\""},
        BadCase{PROFILE " proxy dns p.example port 1\n", "expected \"host\" or \"ip\" for \"proxy\", not \"dns\""},
        BadCase{PROFILE " proxy ip p.example port 1\n", "invalid ADDR \"p.example\" for \"proxy\""},
        BadCase{PROFILE " proxy host p..example port 1\n", "invalid NAME \"p..example\" for \"proxy\""},
        BadCase{PROFILE " proxy host p.example prt 1\n",
                "unexpected argument \"prt\" for \"proxy\" (expected \"port\")"},
        BadCase{PROFILE " proxy host p.example port 0\n", "value 0 out of range 1-65535 for \"proxy\""},
        BadCase{PROFILE " source-ip 127.0.0.256\n", "invalid ADDR \"127.0.0.256\" for \"source-ip\""},
        BadCase{PROFILE " source-ip [::1]\n", "invalid ADDR \"[::1]\" for \"source-ip\""},
        BadCase{PROFILE " proxy ip [::1] port 1\n", "invalid ADDR \"[::1]\" for \"proxy\""}));

INSTANTIATE_TEST_SUITE_P(
    ClassAndTrustpoint, BadCommand,
    ::testing::Values(BadCase{"media class 0\n", "value 0 out of range 1-10000 for \"media class\""},
                      BadCase{"media class 1\n stream-service profile 10001\n",
                              "value 10001 out of range 1-10000 for \"stream-service profile\""},
                      BadCase{"media class 1\n stream-service profile\n", "incomplete command"},
                      BadCase{"crypto pki trustpoint\n", "incomplete command"},
                      BadCase{"crypto pki trustpoint a/b\n", "invalid NAME \"a/b\" for \"crypto pki trustpoint\""},
                      BadCase{TP " enrollment url http://ca\n",
                              "unexpected argument \"url\" for \"enrollment\" (expected \"terminal\")"},
                      BadCase{TP " enrollment terminal der\n",
                              "unexpected argument \"der\" for \"enrollment\" (expected \"pem\")"},
                      BadCase{TP " enrollment\n", "missing \"terminal\" for \"enrollment\""},
                      BadCase{TP " revocation-check crl\n",
                              "unexpected argument \"crl\" for \"revocation-check\" (expected \"none\")"},
                      BadCase{TP " serial-number none\n", "unexpected argument \"none\" for \"serial-number\""},
                      BadCase{TP " subject-name\n", "missing NAME for \"subject-name\""},
                      BadCase{TP " ca-file\n", "missing PATH for \"ca-file\""},
                      BadCase{TP " eckeypair ECK256\n", "unknown command \"eckeypair ECK256\""}));

INSTANTIATE_TEST_SUITE_P(
    DialPeer, BadCommand,
    ::testing::Values(
        BadCase{"dial-peer voice 0 voip\n", "value 0 out of range 1-2147483647 for \"dial-peer voice\""},
        BadCase{"dial-peer voice 2147483648 voip\n", "value 2147483648 out of range 1-2147483647"},
        BadCase{"dial-peer voice 1 pots\n", "unexpected argument \"pots\" for \"dial-peer voice\" (expected \"voip\")"},
        BadCase{"dial-peer voice 1\n", "incomplete command \"dial-peer voice 1\" (expected dial-peer voice TAG voip)"},
        BadCase{PEER " session protocol sipv3\n",
                "unexpected argument \"sipv3\" for \"session protocol\" (expected \"sipv2\")"},
        BadCase{PEER " session target 127.0.0.1\n",
                "invalid target \"127.0.0.1\" for \"session target\": expected ipv4:ADDR[:PORT] or dns:NAME[:PORT] or "
                "ipv6:[ADDR][:PORT]"},
        BadCase{PEER " session target ipv6:::1\n",
                "invalid target \"ipv6:::1\" for \"session target\": expected ipv6:[ADDR][:PORT], the address in brackets"},
        BadCase{PEER " session target ipv6:[::1\n", "expected ipv6:[ADDR][:PORT], the address in brackets"},
        BadCase{PEER " session target ipv6:[127.0.0.1]\n", "not an IPv6 address"},
        BadCase{PEER " session target ipv6:[::g]\n", "not an IPv6 address"},
        BadCase{PEER " session target ipv6:[fe80::1%eth0]:5060\n", "not an IPv6 address"},
        BadCase{PEER " session target ipv6:[::1]:0\n", "PORT must be 1-65535"},
        BadCase{PEER " session target ipv6:[::1]:65536\n", "PORT must be 1-65535"},
        BadCase{PEER " session target ipv6:[::1]5060\n", "expected ipv6:[ADDR][:PORT], the address in brackets"},
        BadCase{PEER " session target ipv4\n", "invalid target \"ipv4\" for \"session target\": missing address"},
        BadCase{PEER " session target ipv4:127.0.0\n", "not an IPv4 address"},
        BadCase{PEER " session target ipv4:127.0.0.1:0\n", "PORT must be 1-65535"},
        BadCase{PEER " session target ipv4:127.0.0.1:x\n", "PORT must be 1-65535"},
        BadCase{PEER " session target dns:a..b\n", "not a DNS name"},
        BadCase{PEER " session target sip:a@b\n", "expected ipv4:ADDR[:PORT] or dns:NAME[:PORT]"},
        BadCase{PEER " session transport sctp\n",
                "unknown transport \"sctp\" for \"session transport\" (expected udp or tcp)"},
        BadCase{PEER " rtp latching sometimes\n",
                "unknown mode \"sometimes\" for \"rtp latching\" (expected learn or strict)"},
        BadCase{PEER " rtp latching\n", "incomplete command"},
        BadCase{PEER " incoming called-number 12a\n",
                "invalid PATTERN \"12a\" for \"incoming called-number\": unexpected character 'a' at position 3"},
        BadCase{PEER " destination-pattern 1[5-2]\n",
                "invalid PATTERN \"1[5-2]\" for \"destination-pattern\": range 5-2 is reversed"},
        BadCase{PEER " destination-pattern\n", "incomplete command"},
        BadCase{PEER " destination-pattern 1 2\n", "unexpected argument \"2\""},
        BadCase{PEER " codec g726\n",
                "unknown codec \"g726\" for \"codec\" (expected g711ulaw, g711alaw, g729, g722 or opus)"},
        BadCase{PEER " dtmf-relay inband\n",
                "unexpected argument \"inband\" for \"dtmf-relay\" (expected \"rtp-nte\")"},
        BadCase{PEER " media-class 0\n", "value 0 out of range 1-10000 for \"media-class\""},
        BadCase{PEER " shutdown now\n", "unexpected argument \"now\" for \"shutdown\""}));

TEST(GlobalCommands, PathsRunToTheEndOfTheLine) {
    const Config c =
        ok("control-socket /tmp/with space/v.sock ! comment\ncrypto pki trustpoint t\n ca-file /tmp/my certs/ca.pem\n");
    EXPECT_EQ(c.control_socket, "/tmp/with space/v.sock");
    EXPECT_EQ(c.trustpoints.at("t").ca_file, "/tmp/my certs/ca.pem");
    EXPECT_EQ(parse(print(c), "p").config ? *parse(print(c), "p").config : Config{}, c);
}

TEST(BadCommand, ControlSocketPathMustFitAUnixSocket) {
    EXPECT_EQ(ok("control-socket /" + std::string(106, 'a') + "\n").control_socket.size(), 107u);
    EXPECT_THAT(errors("control-socket /" + std::string(107, 'a') + "\n"),
                ElementsAre(HasSubstr("PATH for \"control-socket\" is too long (108 characters")));
}

TEST(BadCommand, EachBadLineIsReportedOnItsOwn) {
    EXPECT_THAT(errors("voice service voip\n rtp-port range 20001 20003\n rtp-port range 2001 3000\n"),
                ElementsAre(HasSubstr("2: MIN 20001"), HasSubstr("3: MIN 2001")));
}

}  // namespace
}  // namespace voxfork::config
