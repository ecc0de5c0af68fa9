// `show running-config`: the exact layout, defaults omitted, and the round
// trip parse -> print -> parse over a corpus that uses every command.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "test_support.hpp"
#include "voxfork/dialplan.hpp"

namespace voxfork::config {
namespace {

using testing::ok;

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// Every configuration file of the project: the unit corpus, the lab sample and the examples.
std::vector<std::filesystem::path> corpus_files() {
    std::vector<std::filesystem::path> files;
    for (const auto* dir : {VOXFORK_CONFIG_CORPUS, VOXFORK_CONFIG_DIR, VOXFORK_CONFIG_DIR "/examples"})
        for (const auto& entry : std::filesystem::directory_iterator(dir))
            if (entry.path().extension() == ".conf") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

TEST(Print, DefaultConfigIsJustEnd) {
    EXPECT_EQ(print(Config{}), "end\n");
}

TEST(Print, ExactLayout) {
    const Config c = ok(
        "dial-peer voice 901 voip\n"
        " codec g711ulaw\n"
        " media-class 9\n"
        " session target ipv4:127.0.0.1:7052\n"
        " session transport udp\n"  // a default: not printed
        " destination-pattern 6777\n"
        " session protocol sipv2\n"
        "hostname sbc-lab\n"
        "control-socket /tmp/v.sock\n"
        "media class 9\n stream-service profile 99\n"
        "media profile stream-service 99\n connection calls-threshold 3\n connection idle-timeout 45\n"
        "voice service voip\n rtp-port range 16384 32767\n ip address trusted list\n  ipv4 127.0.0.0 255.0.0.0\n  ipv4 127.0.0.1\n"
        "ip name-server 127.0.0.1 127.0.0.2:5353\n"
        "crypto pki trustpoint websocket\n revocation-check none\n enrollment terminal\n"
        "http client secure-trustpoint websocket\n");
    EXPECT_EQ(print(c),
              "hostname sbc-lab\n"
              "!\n"
              "voice service voip\n"
              " ip address trusted list\n"
              "  ipv4 127.0.0.0 255.0.0.0\n"
              "  ipv4 127.0.0.1\n"
              "!\n"
              "ip name-server 127.0.0.1 127.0.0.2:5353\n"
              "!\n"
              "media profile stream-service 99\n"
              " connection idle-timeout 45\n"
              "!\n"
              "media class 9\n"
              " stream-service profile 99\n"
              "!\n"
              "crypto pki trustpoint websocket\n"
              " enrollment terminal\n"
              " revocation-check none\n"
              "!\n"
              "http client secure-trustpoint websocket\n"
              "!\n"
              "dial-peer voice 901 voip\n"
              " destination-pattern 6777\n"
              " session protocol sipv2\n"
              " session target ipv4:127.0.0.1:7052\n"
              " media-class 9\n"
              " codec g711ulaw\n"
              "!\n"
              "control-socket /tmp/v.sock\n"
              "!\n"
              "end\n");
}

TEST(Print, DefaultsWrittenOutAreOmitted) {
    const Config c = ok(
        "hostname voxfork\nvoice service voip\n rtp-port range 16384 32767\n sip\n  bind control source-address 127.0.0.1\n"
        "  listen-port non-secure 5060\nlicense usage interval 3600\ncontrol-socket /run/voxfork/voxforkd.sock\nlogging level info\n"
        "dial-peer voice 1 voip\n session target ipv4:127.0.0.1:5060\n session transport udp\n");
    EXPECT_EQ(print(c), "dial-peer voice 1 voip\n session target ipv4:127.0.0.1\n!\nend\n");
}

// Values whose default is not a constant: the media address defaults to the
// control address, the suites to all six.
TEST(Print, ValuesEqualToTheirDefaultAreOmitted) {
    const Config c =
        ok("voice service voip\n sip\n  bind media source-address 127.0.0.5\n  bind control source-address 127.0.0.5\n"
           "media profile stream-service 1\n"
           " secure-ciphersuite ecdhe-rsa-aes-gcm-sha2 aes-128-cbc-sha dhe-rsa-aes-cbc-sha2 ecdhe-rsa-aes-cbc-sha2"
           " rsa-aes-cbc-sha2 ecdhe-ecdsa-aes-gcm-sha2\n"
           " tls-version 1.2\n connection calls-threshold 3\n connection idle-timeout 30\n");
    EXPECT_EQ(print(c),
              "voice service voip\n sip\n  bind control source-address 127.0.0.5\n!\n"
              "media profile stream-service 1\n!\nend\n");
    EXPECT_FALSE(c.voip.sip.media_address);  // stored as the default too, so parse(print(c)) == c
    EXPECT_TRUE(c.stream_service_profiles.at(1).ciphersuites.empty());

    // The same values set by hand print the same way.
    Config built;
    built.voip.sip.media_address = built.voip.sip.control_address;
    auto& p = built.stream_service_profiles[2];
    p.tag = 2;
    p.ciphersuites = {CipherSuite::aes_128_cbc_sha,          CipherSuite::dhe_rsa_aes_cbc_sha2,
                      CipherSuite::ecdhe_rsa_aes_cbc_sha2,   CipherSuite::rsa_aes_cbc_sha2,
                      CipherSuite::ecdhe_ecdsa_aes_gcm_sha2, CipherSuite::ecdhe_rsa_aes_gcm_sha2};
    EXPECT_EQ(print(built), "media profile stream-service 2\n!\nend\n");

    // Five of six, or a media address of its own, are not defaults.
    const Config five =
        ok("voice service voip\n sip\n  bind media source-address 127.0.0.6\n"
           "media profile stream-service 1\n secure-ciphersuite aes-128-cbc-sha dhe-rsa-aes-cbc-sha2"
           " ecdhe-rsa-aes-cbc-sha2 rsa-aes-cbc-sha2 ecdhe-ecdsa-aes-gcm-sha2\n");
    EXPECT_EQ(print(five),
              "voice service voip\n sip\n  bind media source-address 127.0.0.6\n!\n"
              "media profile stream-service 1\n secure-ciphersuite aes-128-cbc-sha dhe-rsa-aes-cbc-sha2"
              " ecdhe-rsa-aes-cbc-sha2 rsa-aes-cbc-sha2 ecdhe-ecdsa-aes-gcm-sha2\n!\nend\n");
}

TEST(Print, Ipv6AddressesAndTargets) {
    const Config c = ok(
        "voice service voip\n sip\n  bind control source-address ::1\n  bind media source-address 2001:db8::7\n"
        "dial-peer voice 1 voip\n session target ipv6:[::1]:7060\n"
        "dial-peer voice 2 voip\n session target ipv6:[2001:db8::5]:5060\n");
    EXPECT_EQ(print(c),
              "voice service voip\n sip\n  bind control source-address ::1\n"
              "  bind media source-address 2001:db8::7\n!\n"
              "dial-peer voice 1 voip\n session target ipv6:[::1]:7060\n!\n"
              "dial-peer voice 2 voip\n session target ipv6:[2001:db8::5]\n!\nend\n");
    // `all` spells out the IPv6 media address in effect (the control one here).
    const Config control_only = ok("voice service voip\n sip\n  bind control source-address ::1\n");
    EXPECT_THAT(print(control_only, Secrets::whole, Defaults::shown),
                ::testing::HasSubstr("  bind control source-address 127.0.0.1\n  bind control source-address ::1\n"
                                     "  bind media source-address 127.0.0.1\n  bind media source-address ::1\n"));
}

TEST(RoundTrip, EveryCorpusFile) {
    const auto files = corpus_files();
    ASSERT_GE(files.size(), 6u);
    for (const auto& file : files) {
        SCOPED_TRACE(file.string());
        const auto first = parse_file(file.string());
        ASSERT_TRUE(first.config) << testing::joined(first.errors);
        const std::string printed = print(*first.config);
        const auto second = parse(printed, "printed");
        ASSERT_TRUE(second.config) << testing::joined(second.errors) << printed;
        EXPECT_EQ(*second.config, *first.config) << printed;
        EXPECT_EQ(print(*second.config), printed);
    }
}

TEST(RoundTrip, CorpusFilesDifferFromEachOther) {
    // The round trip above must not pass because everything collapsed to the defaults.
    std::set<std::string> printed;
    const auto files = corpus_files();
    for (const auto& file : files) printed.insert(print(*parse_file(file.string()).config));
    EXPECT_EQ(printed.size(), files.size());
    EXPECT_TRUE(printed.contains("end\n"));  // defaults.conf, and only it
}

TEST(RoundTrip, HandBuiltConfig) {
    Config c;
    c.hostname = "built";
    c.voip.trusted = {testing::network("127.0.0.0/16"), testing::network("2001:db8::/48")};
    c.voip.sip.media_address = "127.0.0.2";
    auto& p = c.stream_service_profiles[3];
    p.tag = 3;
    p.description = "d  with  spaces ! and bang";
    p.ciphersuites = {CipherSuite::rsa_aes_cbc_sha2, CipherSuite::aes_128_cbc_sha};
    p.allow_tls13 = true;
    p.proxy = Proxy{false, "proxy.example", 8080};
    auto& v6 = c.stream_service_profiles[5];
    v6.tag = 5;
    v6.proxy = Proxy{true, "2001:db8::80", 3128};
    v6.source_ip = "2001:db8::1";
    c.media_classes[4] = MediaClass{4, 3};
    c.trustpoints["t"] = Trustpoint{"t", true, true, true, true, "cn=x", "/ca.pem"};
    c.http_client_secure_trustpoint = "t";
    auto& d = c.dial_peers[77];
    d.tag = 77;
    d.session_target = SessionTarget{SessionTarget::Kind::dns, "peer.example", 5999};
    d.transport = Transport::tcp;
    d.rtp_latching = RtpLatching::strict;
    d.incoming_called_number = "+1[2-9]..T";
    d.media_class = 4;
    d.codec = Codec::g722;
    d.shutdown = true;
    c.ip_hosts["peer.example"] = net::Address::v4(0x7f000005u);
    c.ip_hosts["v6.example"] = *net::Address::parse("2001:db8::5");
    c.name_servers = {NameServer{net::Address::v4(0x7f000001u), 53}, NameServer{net::Address::v4(0x7f000001u), 5353},
                      NameServer{*net::Address::parse("::1"), 53}, NameServer{*net::Address::parse("2001:db8::35"), 5353}};
    c.license_usage_interval_seconds = 10;
    c.logging_level = LogLevel::error;
    const auto result = parse(print(c), "built");
    ASSERT_TRUE(result.config) << testing::joined(result.errors) << print(c);
    EXPECT_EQ(*result.config, c);
}

// The corpus together must use every command of the tables, and every `no` form.
TEST(RoundTrip, CorpusUsesEveryCommandAndEveryNoForm) {
    std::set<std::string> used, used_no;
    for (const auto& file : corpus_files()) {
        const std::string text = read(file);
        for (const auto& line : detail::lex(text)) {
            if (line.words.empty()) continue;
            const bool negated = detail::same_word(line.words[0], "no");
            std::string words;
            for (std::size_t i = negated ? 1 : 0; i < line.words.size(); ++i) words += std::string(line.words[i]) + " ";
            std::string lower;
            for (char ch : words) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            (negated ? used_no : used).insert(lower);
        }
    }
    auto covered = [](const std::set<std::string>& lines, std::string_view keywords) {
        const std::string prefix = std::string(keywords) + " ";
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.starts_with(prefix); });
    };
    int commands = 0;
    for (const auto table : {detail::global_commands(), detail::block_commands()})
        for (const auto& spec : table) {
            ++commands;
            if (spec.set) {
                EXPECT_TRUE(covered(used, spec.words)) << "no corpus file uses \"" << spec.words << "\"";
            }
            if (spec.unset) {
                EXPECT_TRUE(covered(used_no, spec.words)) << "no corpus file uses \"no " << spec.words << "\"";
            }
        }
    // The commands of voxforkd.conf(5), the profile's protocol commands, `rtp latching`,
    // `metrics listen` and the trusted list's `ipv6` among them; update together with them.
    EXPECT_EQ(commands, 53);
}

TEST(LabSample, ParsesCleanlyAndIsTheDemoSetup) {
    const auto result = parse_file(VOXFORK_CONFIG_DIR "/voxforkd.conf");
    ASSERT_TRUE(result.config) << testing::joined(result.errors);
    const Config& c = *result.config;
    EXPECT_EQ(c.control_socket, "/run/voxfork/voxforkd.sock");
    const auto* inbound = dialplan::find_inbound(c, "6777");
    ASSERT_NE(inbound, nullptr);
    EXPECT_EQ(inbound->tag, 900u);
    const auto* outbound = dialplan::find_outbound(c, "6777");
    ASSERT_NE(outbound, nullptr);
    EXPECT_EQ(outbound->tag, 901u);
    EXPECT_EQ(outbound->session_target, (SessionTarget{SessionTarget::Kind::ipv4, "127.0.0.1", 7052}));
    const auto* profile = c.profile_for_dial_peer(901);
    ASSERT_NE(profile, nullptr);
    EXPECT_EQ(profile->tag, 99u);
    EXPECT_FALSE(profile->proxy) << "the demo talks straight to the local speech server";
    EXPECT_EQ(c.profile_for_dial_peer(900), nullptr);
    EXPECT_EQ(c.media_classes.at(9).stream_service_profile, 99u);
    // Loopback only.
    auto loopback = [](std::uint32_t address) { return (address >> 24) == 127; };
    for (const auto& network : c.voip.trusted) EXPECT_TRUE(network.address.is_loopback());
    for (const auto& [name, address] : c.ip_hosts) EXPECT_TRUE(address.is_loopback()) << name;
    for (const auto& server : c.name_servers) EXPECT_TRUE(server.address.is_loopback());
    EXPECT_TRUE(loopback(*detail::parse_ipv4(c.voip.sip.control_address)));
    EXPECT_TRUE(loopback(*detail::parse_ipv4(c.voip.sip.effective_media_address())));
    for (const auto& [tag, p] : c.stream_service_profiles) {
        if (p.source_ip) {
            EXPECT_TRUE(loopback(*detail::parse_ipv4(*p.source_ip)));
        }
    }
    for (const auto& [tag, d] : c.dial_peers) {
        if (d.session_target) {
            EXPECT_TRUE(loopback(*detail::parse_ipv4(d.session_target->host))) << tag;
        }
    }
}

// `show running-config all`: the defaults spelled out, and still the same
// configuration when read back.
TEST(PrintAll, TheDefaultConfigurationSpelledOut) {
    EXPECT_EQ(print(Config{}, Secrets::whole, Defaults::shown),
              "hostname voxfork\n!\nvoice service voip\n rtp-port range 16384 32767\n sip\n"
              "  bind control source-address 127.0.0.1\n  bind media source-address 127.0.0.1\n"
              "  listen-port non-secure 5060\n!\nlicense usage interval 3600\n"
              "control-socket /run/voxfork/voxforkd.sock\nlogging level info\n!\nend\n");
}

TEST(PrintAll, BlocksShowTheirDefaults) {
    const auto printed =
        print(ok("media profile stream-service 1\ndial-peer voice 2 voip\n"), Secrets::whole, Defaults::shown);
    EXPECT_THAT(printed, ::testing::HasSubstr("media profile stream-service 1\n connection calls-threshold 3\n"
                                            " connection idle-timeout 30\n secure-ciphersuite aes-128-cbc-sha "
                                            "dhe-rsa-aes-cbc-sha2 ecdhe-rsa-aes-cbc-sha2 rsa-aes-cbc-sha2 "
                                            "ecdhe-ecdsa-aes-gcm-sha2 ecdhe-rsa-aes-gcm-sha2\n tls-version 1.2\n"));
    EXPECT_THAT(printed, ::testing::HasSubstr("dial-peer voice 2 voip\n session transport udp\n"));
}

TEST(PrintAll, EveryCorpusFileReadsBackTheSame) {
    for (const auto& file : corpus_files()) {
        SCOPED_TRACE(file.string());
        const auto first = parse_file(file.string());
        ASSERT_TRUE(first.config) << testing::joined(first.errors);
        const std::string printed = print(*first.config, Secrets::whole, Defaults::shown);
        const auto second = parse(printed, "printed");
        ASSERT_TRUE(second.config) << testing::joined(second.errors) << printed;
        EXPECT_EQ(*second.config, *first.config) << printed;
    }
}

}  // namespace
}  // namespace voxfork::config
