#include <chrono>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "voxfork/ops.hpp"

using voxfork::ops::apply_filter;
using voxfork::ops::CommandError;
using voxfork::ops::CommandOutput;
using voxfork::ops::json_key;

namespace {

const CommandOutput running_config{
    "hostname lab\n"
    "!\n"
    "voice service voip\n"
    " rtp-port range 20000 29999\n"
    " sip\n"
    "  bind media source-address 127.0.0.1\n"
    "!\n"
    "media profile stream-service 99\n"
    " connection calls-threshold 3\n"
    "!\n"
    "media class 9\n"
    " stream-service profile 99\n"
    "end\n",
    {}};

}  // namespace

TEST(OutputFilter, IncludeKeepsMatchingLines) {
    EXPECT_EQ(apply_filter(running_config, "include media").text,
              "  bind media source-address 127.0.0.1\nmedia profile stream-service 99\nmedia class 9\n");
    EXPECT_EQ(apply_filter(running_config, "include ^media").text, "media profile stream-service 99\nmedia class 9\n");
}

TEST(OutputFilter, IncludeIsCaseSensitiveEcmaScript) {
    EXPECT_EQ(apply_filter(running_config, "include MEDIA").text, "");
    EXPECT_EQ(apply_filter(running_config, "include (class|hostname) \\w+").text, "hostname lab\nmedia class 9\n");
}

TEST(OutputFilter, ExcludeDropsMatchingLines) {
    EXPECT_EQ(apply_filter(running_config, "exclude ^( |!)").text,
              "hostname lab\nvoice service voip\nmedia profile stream-service 99\nmedia class 9\nend\n");
}

TEST(OutputFilter, SectionPrintsWholeTopLevelBlocks) {
    EXPECT_EQ(apply_filter(running_config, "section media").text,
              "voice service voip\n rtp-port range 20000 29999\n sip\n  bind media source-address 127.0.0.1\n"
              "media profile stream-service 99\n connection calls-threshold 3\n"
              "media class 9\n stream-service profile 99\n");
    EXPECT_EQ(apply_filter(running_config, "sec ^media class").text, "media class 9\n stream-service profile 99\n");
    EXPECT_EQ(apply_filter(running_config, "section threshold").text,
              "media profile stream-service 99\n connection calls-threshold 3\n");
}

// An empty line ends a section and belongs to none; indented lines after it
// have no top-level line and are in no section either.
TEST(OutputFilter, SectionEndsAtAnEmptyLine) {
    const CommandOutput show{
        "Connection 1\n  State: open\n\nConnection 2\n  State: closed\n   \n  stray open\nTotal open: 1\n", {}};
    EXPECT_EQ(apply_filter(show, "section open").text, "Connection 1\n  State: open\nTotal open: 1\n");
    EXPECT_EQ(apply_filter(show, "section Connection").text,
              "Connection 1\n  State: open\nConnection 2\n  State: closed\n");
    EXPECT_EQ(apply_filter({"  leading\nTop\n x\n", {}}, "section leading|x").text, "Top\n x\n");
}

TEST(OutputFilter, JsonUsesTheCommandsDataOrItsLines) {
    auto lines = nlohmann::json::parse(apply_filter({"a\nb\n", {}}, "json").text);
    EXPECT_EQ(lines, (nlohmann::json{{"lines", {"a", "b"}}}));
    auto data = nlohmann::json::parse(apply_filter({"ignored\n", {{"active", 2}}}, "json").text);
    EXPECT_EQ(data, (nlohmann::json{{"active", 2}}));
}

TEST(OutputFilter, BadFiltersAreErrors) {
    EXPECT_THROW(apply_filter(running_config, "include"), CommandError);
    EXPECT_THROW(apply_filter(running_config, "include ([unclosed"), CommandError);
    EXPECT_THROW(apply_filter(running_config, "grep x"), CommandError);
    EXPECT_THROW(apply_filter(running_config, "json extra"), CommandError);
}

TEST(OutputFilter, JsonKeysAreSnakeCaseWords) {
    EXPECT_EQ(json_key("Glare (491)"), "glare_491");
    EXPECT_EQ(json_key("Rejected untrusted source (403)"), "rejected_untrusted_source_403");
    EXPECT_EQ(json_key("re-INVITEs relayed"), "re_invites_relayed");
    EXPECT_EQ(json_key("Downstream 503 sent as 500"), "downstream_503_sent_as_500");
    EXPECT_EQ(json_key("  (Odd)  -- label -- "), "odd_label");
}

// Expressions found by fuzzing (tests/fuzz/control_line_fuzz.cpp): each one
// overflowed, exhausted or stalled std::regex before it was measured first.
static std::string error_of(std::string_view filter) {
    try {
        apply_filter(running_config, filter);
    } catch (const CommandError& e) {
        return e.what();
    }
    return "";
}

TEST(OutputFilter, RepetitionCountsAreBounded) {
    // The count was read into an int without an overflow check.
    EXPECT_EQ(error_of("include a{3333333333333333333333}"), "repetition count over 255");
    EXPECT_EQ(error_of("include a{1,99999999999999999999999"), "repetition count over 255");
    EXPECT_EQ(apply_filter(running_config, "include ^m.{2,255}9$").text,
              "media profile stream-service 99\nmedia class 9\n");
}

TEST(OutputFilter, ExpressionsThatExpandTooFarAreRefused) {
    // Each count copies the item: 255^3 states.
    EXPECT_EQ(error_of("include ((a{255}){255}){255}"), "regular expression too complex");
    EXPECT_EQ(error_of("include " + std::string(300, 'a')), "regular expression longer than 256 characters");
    // One alternative per recursion of the compiler: deep enough to overflow the stack once.
    std::string alternatives = "a";
    for (int i = 0; i < 20000; ++i) alternatives += "|a";
    EXPECT_EQ(error_of("include " + alternatives), "regular expression longer than 256 characters");
    EXPECT_EQ(error_of("include " + std::string(100, '(') + std::string(100, ')')), "regular expression too complex");
    // A count repeats what the count before it made (found by fuzzing: the
    // check read the first count's digits as states and missed 98 x 214).
    EXPECT_EQ(error_of("include vh?{5,0098}{1,00214}\xff"), "regular expression too complex");
    EXPECT_EQ(error_of("include a{40}{51}"), "regular expression too complex");
    EXPECT_EQ(error_of("include a{40}{40}"), "");
}

TEST(OutputFilter, BackReferencesAreRefused) {
    EXPECT_EQ(error_of("include (a)\\1"), "back-references are not supported in a filter");
    EXPECT_EQ(error_of("include (a)\\12345678901234567890123"), "back-references are not supported in a filter");
    // Found by fuzzing: ECMAScript's `[]` is an empty class, so what follows
    // it is outside any class; read as POSIX's `[]...]`, the number hid there.
    EXPECT_EQ(error_of("include []a\\11111111111111111111111][]"), "back-references are not supported in a filter");
    EXPECT_EQ(error_of("include [\\11111111111111111111111]"), "back-references are not supported in a filter");
    EXPECT_EQ(error_of("include x[]|y"), "");  // an empty class is fine
    // Found by fuzzing: `\c` takes the next character whatever it is, a
    // backslash too, so the backslash after it starts no escape of its own.
    EXPECT_EQ(error_of("include \\c\\\\11111111111111111111111"), "back-references are not supported in a filter");
    EXPECT_EQ(error_of("include [\\c\\\\11111111111111111111111]"), "back-references are not supported in a filter");
    EXPECT_EQ(error_of("include \\c\\1"), "");  // a control character, then a 1
}

TEST(OutputFilter, MatchingNeverBacktracksExponentially) {
    // A backtracking matcher takes 2^40 steps on this line; the polynomial one a few thousand.
    const CommandOutput line{std::string(40, 'a') + "\n", {}};
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(apply_filter(line, "include ^(a|a)*b").text, "");
    EXPECT_EQ(apply_filter(line, "include ^(a|aa)*$").text, line.text);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(OutputFilter, MatchesAnywhereInALineWithTheLinesAnchors) {
    // A line is matched whole against [\s\S]*(?:E)[\s\S]*: the answer of a search for E.
    EXPECT_EQ(apply_filter(running_config, "include 9$").text,
              " rtp-port range 20000 29999\nmedia profile stream-service 99\nmedia class 9\n stream-service profile 99\n");
    EXPECT_EQ(apply_filter(running_config, "include ^ s").text, " sip\n stream-service profile 99\n");
    EXPECT_EQ(apply_filter(running_config, "include \\bclass\\b").text, "media class 9\n");
    EXPECT_EQ(apply_filter(running_config, "include p$|^e").text, "voice service voip\n sip\nend\n");
    EXPECT_EQ(apply_filter(running_config, "exclude .").text, "");
}

TEST(OutputFilter, LookaheadsAreRefused) {
    // libstdc++ runs a lookahead as a nested match at every position of the
    // line: 145 ms for one line of 112 characters with (?=(.*.*.*.*.*.*.*.*.*.*){40}x).
    EXPECT_EQ(error_of("include (?=.*class)"), "lookaheads are not supported in a filter");
    EXPECT_EQ(error_of("include a(?!b)"), "lookaheads are not supported in a filter");
    EXPECT_EQ(error_of("include [(?=]"), "");   // characters of a class
    EXPECT_EQ(error_of("include \\(?=x"), "");  // an escaped parenthesis, then an optional '='
    EXPECT_EQ(error_of("include (?:class) 9"), "");
}

TEST(OutputFilter, AFilterGivesUpWithinItsTimeWhateverTheExpression) {
    // The output of 1,000 calls. A search for (.*){255}x held the control
    // plane (and SIP with it) for 145 s; a line now takes one pass, and the
    // filter stops with an error after 250 ms.
    CommandOutput calls;
    for (int i = 0; i < 1000; ++i)
        calls.text += "  " + std::to_string(100000 + i) +
                      " 1 A 00:01:23 sip:1000@192.0.2.10:5060 -> sip:2000@198.51.100.7:5060 RTP 20000 STARTED\n";
    const auto start = std::chrono::steady_clock::now();
    try {
        apply_filter(calls, "include (.*){255}x");
        ADD_FAILURE() << "the filter did not give up";
    } catch (const CommandError& e) {
        EXPECT_STREQ(e.what(), "regular expression too slow for this output (stopped after 250 ms)");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    // An ordinary filter is not affected (50 lines: under the sanitizers on
    // a loaded CI host, 1,000 lines of even this one took over 250 ms).
    const CommandOutput some{calls.text.substr(0, calls.text.size() / 20), {}};
    EXPECT_EQ(apply_filter(some, "include STARTED$").text, some.text);
    EXPECT_EQ(apply_filter(some, "include ^  100049 ").text.size(), some.text.size() / 50);
}

TEST(OutputFilter, KeepsTheLinesASearchFinds) {
    // The oracle: std::regex_search over each line, as the filter ran before
    // it matched whole lines (the same held for 3,378 expressions that
    // fuzzing found, both ways: include and section).
    const std::string text = std::string(
                                 "Stream service statistics\n  Connections opened: 12\n\n"
                                 "Server 127.0.0.1:9000 secure no\n  Session 5 state STARTED codec g711ulaw\n"
                                 "aaaa aaab abab\n\xc3\xa9t\xc3\xa9 [x] (y) {z} a|b ^$ \\ .\nnul ") +
                             '\0' + " here\r\n";
    for (const std::string expression :
         {"S", "^S", "d$", "^$", "a*", "(a|b)+b", "\\bab", "\\Bb\\b", "[^a-z ]", "\\d{2,}", "\\s\\s\\S",
          "(?:ab){2}", "ab?a", "\\.$", "\\x00", "\\r$", "\\\\", "\\(y\\)", "[\\[\\]]", "\xc3\xa9", "^.{3}$",
          "ion|^a", "(^|:)\\s", "\\w+ \\d+$", "a{1,3}b", "\\|", "STARTED.*u"}) {
        std::string expected;
        const std::regex re(expression, std::regex::ECMAScript);
        for (std::string line, rest = text; !rest.empty(); rest.erase(0, line.size() + 1)) {
            line = rest.substr(0, rest.find('\n'));
            if (std::regex_search(line, re)) expected += line + "\n";
        }
        EXPECT_EQ(apply_filter({text, {}}, "include " + expression).text, expected) << expression;
    }
}
