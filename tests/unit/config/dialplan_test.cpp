// Dial-peer patterns: validation, matching, and choosing the best dial-peer.
#include <gmock/gmock.h>

#include "test_support.hpp"
#include "voxfork/dialplan.hpp"

namespace voxfork::dialplan {
namespace {

using ::testing::HasSubstr;

struct PatternCase {
    const char* pattern;
    const char* error;  // "" when valid, else a part of the reason
};

class PatternValidation : public ::testing::TestWithParam<PatternCase> {};

TEST_P(PatternValidation, Reason) {
    const auto error = pattern_error(GetParam().pattern);
    if (*GetParam().error == '\0')
        EXPECT_EQ(error, "") << GetParam().pattern;
    else
        EXPECT_THAT(error, HasSubstr(GetParam().error)) << GetParam().pattern;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PatternValidation,
    ::testing::Values(
        PatternCase{"6777", ""}, PatternCase{"+14085551234", ""}, PatternCase{"1408555....", ""},
        PatternCase{"[2-9]..[0-9]", ""}, PatternCase{"[135]", ""}, PatternCase{"[13-57]", ""}, PatternCase{"1T", ""},
        PatternCase{"T", ""}, PatternCase{".T", ""}, PatternCase{"6777$", ""}, PatternCase{"+T", ""},
        PatternCase{"", "empty pattern"}, PatternCase{"$", "no digits"}, PatternCase{"+", "no digits"},
        PatternCase{"12a", "unexpected character 'a' at position 3"}, PatternCase{"1*2", "unexpected character '*'"},
        PatternCase{"1+2", "'+' is only allowed at the start"}, PatternCase{"1T2", "'T' is only allowed at the end"},
        PatternCase{"1$2", "'$' is only allowed at the end"}, PatternCase{"1TT", "'T' is only allowed at the end"},
        PatternCase{"1[2", "'[' without ']' at position 2"}, PatternCase{"12]", "']' without '[' at position 3"},
        PatternCase{"1[]", "empty [ ] at position 2"}, PatternCase{"[5-2]", "range 5-2 is reversed"},
        PatternCase{"[a]", "unexpected 'a' inside [ ]"}, PatternCase{"[1-a]", "unexpected 'a' in range"},
        PatternCase{"[1-]", "unexpected '-' inside [ ]"}, PatternCase{"t", "unexpected character 't'"},
        PatternCase{"1111111111111111111111111111111111111111111111111111111111111111", ""},
        PatternCase{"11111111111111111111111111111111111111111111111111111111111111111", "longer than 64 characters"}));

struct MatchCase {
    const char* pattern;
    const char* number;
    int specificity;  // -1: no match
};

class PatternMatch : public ::testing::TestWithParam<MatchCase> {};

TEST_P(PatternMatch, Specificity) {
    const auto& p = GetParam();
    const auto result = match(p.pattern, p.number);
    if (p.specificity < 0)
        EXPECT_FALSE(result) << p.pattern << " ~ " << p.number;
    else
        EXPECT_EQ(result, p.specificity) << p.pattern << " ~ " << p.number;
}

INSTANTIATE_TEST_SUITE_P(Table, PatternMatch,
                         ::testing::Values(
                             // Without '$' a pattern matches the start of the number (IOS variable-length matching).
                             MatchCase{"6777", "6777", 4}, MatchCase{"6777", "67771", 4},
                             MatchCase{"6777", "677712345", 4}, MatchCase{"6777", "677", -1},
                             MatchCase{"6777", "6778", -1}, MatchCase{"6777", "67781", -1},
                             MatchCase{"6777", "6777#", -1}, MatchCase{"6777", "6777+", -1},
                             // A trailing '$' anchors it: the number ends where the pattern ends.
                             MatchCase{"6777$", "6777", 4}, MatchCase{"6777$", "67770", -1},
                             MatchCase{"67..$", "6700", 4}, MatchCase{"67..$", "67001", -1},
                             // '.' is any one digit, never '+' or another character.
                             MatchCase{"67..", "6700", 4}, MatchCase{"67..", "6799", 4}, MatchCase{"67..", "67991", 4},
                             MatchCase{"67..", "670", -1}, MatchCase{"67..", "67+1", -1}, MatchCase{"....", "1234", 4},
                             MatchCase{"....", "12a4", -1},
                             // Brackets.
                             MatchCase{"[2-5]1", "21", 2}, MatchCase{"[2-5]1", "51", 2}, MatchCase{"[2-5]1", "61", -1},
                             MatchCase{"[2-5]1", "11", -1}, MatchCase{"[135]", "3", 1}, MatchCase{"[135]", "4", -1},
                             MatchCase{"[13-57]", "4", 1}, MatchCase{"[13-57]", "6", -1}, MatchCase{"[0-9]", "0", 1},
                             // T: the prefix and zero or more further digits.
                             MatchCase{"6777T", "6777", 4}, MatchCase{"6777T", "677712345", 4},
                             MatchCase{"6777T", "677", -1}, MatchCase{"6777T", "6777#", -1}, MatchCase{"T", "", 0},
                             MatchCase{"T", "123", 0}, MatchCase{".T", "", -1}, MatchCase{".T", "9", 1},
                             // '+'.
                             MatchCase{"+1408T", "+14085551234", 5}, MatchCase{"+1408", "+14085551234", 5},
                             MatchCase{"+1408T", "14085551234", -1}, MatchCase{"1408T", "+1408", -1},
                             MatchCase{"1408", "+14081", -1}, MatchCase{"+T", "+1", 1},
                             // Invalid patterns match nothing.
                             MatchCase{"12a", "12a", -1}, MatchCase{"", "", -1}));

config::Config plan(const std::string& peers) {
    return config::testing::ok(peers);
}

struct RouteCase {
    const char* peers;  // dial-peer blocks
    const char* number;
    std::uint32_t expected;  // 0: no dial-peer
};

class OutboundRouting : public ::testing::TestWithParam<RouteCase> {};

TEST_P(OutboundRouting, BestDialPeer) {
    const auto c = plan(GetParam().peers);
    const auto* peer = find_outbound(c, GetParam().number);
    if (GetParam().expected == 0)
        EXPECT_EQ(peer, nullptr);
    else {
        ASSERT_NE(peer, nullptr);
        EXPECT_EQ(peer->tag, GetParam().expected);
    }
}

#define PEER(tag, pattern) "dial-peer voice " #tag " voip\n destination-pattern " pattern "\n"

INSTANTIATE_TEST_SUITE_P(
    Table, OutboundRouting,
    ::testing::Values(
        RouteCase{PEER(1, "6777") PEER(2, "67..") PEER(3, "T"), "6777", 1},  // more literal digits
        RouteCase{PEER(1, "6777") PEER(2, "67..") PEER(3, "T"), "6700", 2},
        RouteCase{PEER(1, "6777") PEER(2, "67..") PEER(3, "T"), "12", 3},  // catch-all
        RouteCase{PEER(1, "6777") PEER(2, "67.."), "12", 0},               // nothing matches
        RouteCase{PEER(1, "6777") PEER(2, "67.."), "67771", 1},            // both match as a prefix
        RouteCase{PEER(1, "6777") PEER(2, "6...."), "67771", 2},           // longest match wins
        RouteCase{PEER(1, "6777") PEER(2, "67777"), "67771", 1},
        RouteCase{PEER(1, "6777") PEER(2, "67777"), "67777", 2},
        RouteCase{PEER(1, "1T") PEER(2, "1408T"), "14085551234", 2},  // longer prefix
        RouteCase{PEER(1, "1") PEER(2, "1408"), "14085551234", 2},
        RouteCase{PEER(5, "67..") PEER(3, "6.7."), "6777", 3},      // tie: lower tag
        RouteCase{PEER(3, "6.7.") PEER(5, "67.."), "6777", 3},      // whatever the file order
        RouteCase{PEER(9, "6777") PEER(4, "6777"), "6777", 4},      // identical patterns
        RouteCase{PEER(1, "555.") PEER(2, "555[0-5]"), "5553", 2},  // a set is narrower than '.'
        RouteCase{PEER(1, "555.") PEER(2, "555[0-5]"), "5558", 1},
        RouteCase{PEER(1, "6777T") PEER(2, "6777"), "6777", 1},  // T changes nothing: lower tag
        RouteCase{PEER(2, "6777T") PEER(1, "6777"), "67770", 1},
        RouteCase{PEER(1, "6777") PEER(2, "6777$"), "6777", 2},  // anchored beats open
        RouteCase{PEER(1, "6777") PEER(2, "6777$"), "67770", 1}, RouteCase{PEER(1, "6777$") PEER(2, "T"), "67771", 2},
        RouteCase{PEER(1, "6777") PEER(2, "67..") " shutdown\n", "6700", 0},  // shutdown peers are skipped
        RouteCase{PEER(1, "6777") " shutdown\n" PEER(2, "67.."), "6777", 2},
        RouteCase{"dial-peer voice 1 voip\n incoming called-number 6777\n", "6777", 0}));  // inbound don't route out

TEST(InboundRouting, UsesIncomingCalledNumber) {
    const auto c = plan(
        "dial-peer voice 900 voip\n incoming called-number 6777\n"
        "dial-peer voice 901 voip\n destination-pattern 6777\n"
        "dial-peer voice 902 voip\n incoming called-number .T\n"
        "dial-peer voice 903 voip\n incoming called-number 5...\n shutdown\n");
    ASSERT_NE(find_inbound(c, "6777"), nullptr);
    EXPECT_EQ(find_inbound(c, "6777")->tag, 900u);
    EXPECT_EQ(find_inbound(c, "5000")->tag, 902u);   // 903 would match but is shut down
    EXPECT_EQ(find_inbound(c, "67771")->tag, 900u);  // a prefix, as for destination-pattern
    EXPECT_EQ(find_inbound(c, ""), nullptr);
    EXPECT_EQ(find_outbound(c, "6777")->tag, 901u);
    EXPECT_EQ(find_inbound(config::Config{}, "6777"), nullptr);
}

}  // namespace
}  // namespace voxfork::dialplan
