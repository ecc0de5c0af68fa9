// The file's syntax: comments, indentation and modes, `end`, keyword case,
// cross-references, and how errors are collected and ordered.
#include <gmock/gmock.h>

#include "test_support.hpp"

namespace voxfork::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::errors;
using testing::ok;

TEST(Comments, WholeLinesAndAfterWhiteSpace) {
    const Config c =
        ok("! a comment\n"
           "   ! an indented comment\n"
           "!no space needed after the bang\n"
           "hostname a-b ! trailing comment\n"
           "control-socket /tmp/a!b\t! a bang inside a word is not a comment\n"
           "dial-peer voice 1 voip\n"
           " ! a comment inside a block does not close it\n"
           " description text ! keeps its bang\n"
           " codec g729 !\n");
    EXPECT_EQ(c.hostname, "a-b");
    EXPECT_EQ(c.control_socket, "/tmp/a!b");
    EXPECT_EQ(c.dial_peers.at(1).description, "text ! keeps its bang");
    EXPECT_EQ(c.dial_peers.at(1).codec, Codec::g729);
}

TEST(Comments, BlankLinesAndCrLfAreIgnored) {
    const Config c = ok("\r\n\nhostname crlf\r\n  \t \ndial-peer voice 1 voip\r\n description d \r\n");
    EXPECT_EQ(c.hostname, "crlf");
    EXPECT_EQ(c.dial_peers.at(1).description, "d");
}

TEST(Keywords, AreCaseInsensitiveValuesAreKept) {
    const Config c = ok(
        "HOSTNAME Sbc\nLogging Level DEBUG\nDial-Peer Voice 5 VOIP\n Session Target DNS:Peer.Example:5070\n Codec G711ULAW\n");
    EXPECT_EQ(c.hostname, "Sbc");
    EXPECT_EQ(c.logging_level, LogLevel::debug);
    EXPECT_EQ(c.dial_peers.at(5).session_target, (SessionTarget{SessionTarget::Kind::dns, "Peer.Example", 5070}));
    EXPECT_EQ(c.dial_peers.at(5).codec, Codec::g711ulaw);
}

TEST(Indentation, SubModesByAnyDeeperIndentation) {
    // One space (IOS), two spaces (CUBE's show run) and deeper levels all work.
    const std::string one =
        "voice service voip\n ip address trusted list\n  ipv4 127.0.0.1\n sip\n  listen-port non-secure 5070\n";
    const std::string two =
        "voice service voip\n  ip address trusted list\n      ipv4 127.0.0.1\n  sip\n    listen-port non-secure 5070\n";
    EXPECT_EQ(ok(one), ok(two));
    EXPECT_EQ(ok(one).voip.sip.listen_port, 5070);
    EXPECT_EQ(ok(one).voip.trusted.size(), 1u);
}

TEST(Indentation, ADedentClosesTheSubModes) {
    const Config c =
        ok("voice service voip\n"
           " ip address trusted list\n"
           "  ipv4 127.0.0.1\n"
           " rtp-port range 2000 3000\n"  // back in voip
           "hostname h\n"                 // back at global level
           "dial-peer voice 1 voip\n"
           " codec g729\n"
           "dial-peer voice 2 voip\n"  // a new block right away
           " codec opus\n");
    EXPECT_EQ(c.voip.rtp_port_min, 2000);
    EXPECT_EQ(c.hostname, "h");
    EXPECT_EQ(c.dial_peers.at(1).codec, Codec::g729);
    EXPECT_EQ(c.dial_peers.at(2).codec, Codec::opus);
}

TEST(Indentation, SubModeCommandAtGlobalLevelIsAnError) {
    EXPECT_THAT(
        errors("rtp-port range 20000 29998\n"),
        ElementsAre("1: \"rtp-port range\" is not a global-mode command (it belongs under \"voice service voip\")"));
    EXPECT_THAT(errors("voice service voip\n ipv4 127.0.0.1\n"),
                ElementsAre("2: \"ipv4\" is not a voip-mode command (it belongs under \"ip address trusted list\")"));
    EXPECT_THAT(
        errors("codec g711ulaw\n"),
        ElementsAre("1: \"codec\" is not a global-mode command (it belongs under \"dial-peer voice TAG voip\")"));
    EXPECT_THAT(
        errors("description x\n"),
        ElementsAre(HasSubstr("under \"media profile stream-service TAG\" or under \"dial-peer voice TAG voip\"")));
}

TEST(Indentation, GlobalCommandInsideABlockIsAnError) {
    EXPECT_THAT(
        errors("dial-peer voice 1 voip\n hostname x\n"),
        ElementsAre("2: \"hostname\" is not a dial-peer-mode command (it belongs at global level, not indented)"));
    EXPECT_THAT(errors("media class 1\n dial-peer voice 2 voip\n  codec g729\n"),
                ElementsAre(HasSubstr("2: \"dial-peer voice\" is not a media class-mode command")));
}

TEST(Indentation, IndentUnderALineThatOpensNothing) {
    EXPECT_THAT(errors("hostname a\n logging level debug\n"),
                ElementsAre("2: unexpected indentation of \"logging level debug\" (the line above opens no sub-mode)"));
    // In between two levels is no level at all.
    EXPECT_THAT(errors("voice service voip\n ip address trusted list\n   ipv4 127.0.0.1\n  ipv4 127.0.0.2\n"),
                ElementsAre(HasSubstr("4: unexpected indentation of \"ipv4 127.0.0.2\"")));
    EXPECT_THAT(errors("  hostname a\n"), ElementsAre(HasSubstr("1: unexpected indentation")));
}

TEST(Indentation, TabsAreRefused) {
    EXPECT_THAT(errors("dial-peer voice 1 voip\n\tcodec g729\n"),
                ElementsAre("2: tab in indentation (indent sub-mode lines with spaces)"));
}

TEST(Indentation, LinesUnderAnUnknownCommandAreSkippedNotReportedOneByOne) {
    EXPECT_THAT(errors("dial-peer voice 1 pots\n codec g729\nfoo bar\n baz\n  qux\nhostname ok\n"),
                ElementsAre(HasSubstr("1: unexpected argument \"pots\""), "3: unknown command \"foo bar\""));
}

TEST(Indentation, LinesUnderABadOpenerAreStillChecked) {
    EXPECT_THAT(errors("media profile stream-service 0\n connection calls-threshold 50\n description fine\n"),
                ElementsAre(HasSubstr("1: value 0 out of range"), HasSubstr("2: value 50 out of range 1-20")));
}

TEST(End, IsOptionalAndClosesTheFile) {
    EXPECT_EQ(ok("hostname a\nend\n"), ok("hostname a\n"));
    EXPECT_EQ(ok("dial-peer voice 1 voip\n codec g729\n end\n! comments after end are fine\n\n").dial_peers.at(1).codec,
              Codec::g729);
    EXPECT_THAT(errors("hostname a\nend\nhostname b\nfoo\n"),
                ElementsAre("3: \"hostname b\" after \"end\" (end closes the file)"));
    EXPECT_THAT(errors("end now\n"), ElementsAre("1: unknown command \"end now\""));
    EXPECT_THAT(errors(std::string("end\n\0\n", 6)), ElementsAre("2: text after \"end\" (end closes the file)"));
}

TEST(Exit, ClosesTheSubModeItIsIn) {
    // The way CUBE's documentation writes it.
    const Config c =
        ok("crypto pki trustpoint websocket\n    enrollment terminal\n    revocation-check none\nexit\nexit\n"
           "dial-peer voice 1 voip\n codec g729\n exit\nhostname after\n");
    EXPECT_TRUE(c.trustpoints.at("websocket").revocation_check_none);
    EXPECT_EQ(c.dial_peers.at(1).codec, Codec::g729);
    EXPECT_EQ(c.hostname, "after");
    EXPECT_THAT(errors("dial-peer voice 1 voip\n exit\n codec g729\n"),
                ElementsAre(HasSubstr("3: unexpected indentation")));
}

TEST(CrossReferences, ReportedAtTheReferencingLine) {
    EXPECT_THAT(errors("hostname x\nmedia class 9\n stream-service profile 99\n"),
                ElementsAre("3: media class 9: stream-service profile 99 does not exist"));
    EXPECT_THAT(errors("dial-peer voice 901 voip\n media-class 9\n"),
                ElementsAre("2: dial-peer voice 901: media-class 9 does not exist"));
    EXPECT_THAT(errors("\nhttp client secure-trustpoint websocket\n"),
                ElementsAre("2: http client secure-trustpoint: trustpoint \"websocket\" does not exist"));
}

TEST(CrossReferences, MayPointForwardAndFollowTheFinalState) {
    // Referenced before being defined: fine.
    const Config c =
        ok("http client secure-trustpoint ws\n"
           "dial-peer voice 1 voip\n media-class 9\n"
           "media class 9\n stream-service profile 99\n"
           "media profile stream-service 99\n"
           "crypto pki trustpoint ws\n");
    EXPECT_EQ(c.profile_for_dial_peer(1)->tag, 99u);
    // A removed target breaks the reference; a removed reference breaks nothing.
    EXPECT_THAT(
        errors(
            "media profile stream-service 99\nmedia class 9\n stream-service profile 99\nno media profile stream-service 99\n"),
        ElementsAre("3: media class 9: stream-service profile 99 does not exist"));
    ok("media class 9\n stream-service profile 99\n no stream-service profile\n");
    ok("media class 9\n stream-service profile 99\nno media class 9\n");
    ok("dial-peer voice 1 voip\n media-class 3\nno dial-peer voice 1 voip\n");
    ok("http client secure-trustpoint x\nno http client secure-trustpoint\n");
    // The reference is reported where it was last set.
    EXPECT_THAT(
        errors("media profile stream-service 1\nmedia class 9\n stream-service profile 1\n stream-service profile 2\n"),
        ElementsAre("4: media class 9: stream-service profile 2 does not exist"));
}

TEST(Errors, AllOfAFileInLineOrder) {
    const auto list = errors(
        "hostname ok\n"                      // 1
        "dial-peer voice 1 voip\n"           // 2
        " media-class 7\n"                   // 3: cross-reference, found at the end
        " codec g999\n"                      // 4
        "media profile stream-service 5\n"   // 5
        " connection idle-timeout 0\n"       // 6
        "foo\n"                              // 7
        "voice service voip\n"               // 8
        " rtp-port range 3 5\n"              // 9: two bad values, one error each
        "http client secure-trustpoint t\n"  // 10
        "logging level loud\n");             // 11
    EXPECT_THAT(list, ElementsAre(HasSubstr("3: dial-peer voice 1: media-class 7 does not exist"),
                                  HasSubstr("4: unknown codec"), HasSubstr("6: value 0"), "7: unknown command \"foo\"",
                                  HasSubstr("9: value 3 out of range"), HasSubstr("9: value 5 out of range"),
                                  HasSubstr("10: http client secure-trustpoint"), HasSubstr("11: unknown level")));
}

TEST(Errors, HundredsOfThemAllReported) {
    std::string text;
    for (int i = 0; i < 600; ++i) text += (i % 2 ? "hostname bad/name\n" : "no such command\n");
    const auto list = errors(text);
    ASSERT_EQ(list.size(), 600u);
    for (int i = 0; i < 600; ++i) EXPECT_EQ(list[i].substr(0, list[i].find(':')), std::to_string(i + 1));
}

TEST(Errors, StopAfterAThousand) {
    std::string text;
    for (int i = 0; i < 5000; ++i) text += "x\n";
    const auto list = errors(text);
    ASSERT_EQ(list.size(), 1001u);
    EXPECT_EQ(list[999], "1000: unknown command \"x\"");
    EXPECT_EQ(list[1000], "1001: too many errors (1000), stopped reading here");
}

TEST(Errors, PrintAsPathLineMessage) {
    const auto result = parse("hostname\n", "/etc/voxfork/voxforkd.conf");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(),
              "/etc/voxfork/voxforkd.conf:1: incomplete command \"hostname\" (expected hostname NAME)");
    EXPECT_EQ((ConfigError{"f.conf", 0, "is a directory, not a configuration file"}.to_string()),
              "f.conf: is a directory, not a configuration file");
    EXPECT_EQ(result.config, nullptr);
}

}  // namespace
}  // namespace voxfork::config
