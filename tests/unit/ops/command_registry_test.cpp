#include <gtest/gtest.h>

#include "voxfork/ops.hpp"

using voxfork::ops::CommandArgs;
using voxfork::ops::CommandError;
using voxfork::ops::CommandOutput;
using voxfork::ops::CommandRegistry;

namespace {

// A registry whose handlers print which command ran and the arguments they got.
CommandRegistry make_registry() {
    CommandRegistry registry;
    auto echo = [](std::string name) {
        return [name](const CommandArgs& args) {
            std::string text = name;
            for (const auto& a : args) text += " [" + a + "]";
            return CommandOutput{text + "\n", {{"command", name}, {"args", args}}};
        };
    };
    registry.add("show voip stream-service connection", "", 0, echo("connection"));
    registry.add("show voip stream-service connection history", "", 0, echo("history"));
    registry.add("show voip stream-service connection id", "", 1, echo("id"));
    registry.add("show voip stream-service statistics", "", 0, echo("statistics"));
    registry.add("show voip stream-service server", "", 1, echo("server"));
    registry.add("show running-config", "", 0, echo("running"));
    registry.add("show call active voice brief", "", 0, echo("calls"));
    registry.add("clear voip stream-service statistics", "", 0, echo("clear"));
    registry.add("show failing", "", 1, [](const CommandArgs& args) -> CommandOutput {
        if (args.empty()) throw CommandError("an id is needed");
        throw std::runtime_error("boom");
    });
    return registry;
}

}  // namespace

TEST(CommandRegistry, LongestRegisteredPrefixPicksTheHandler) {
    const auto registry = make_registry();
    EXPECT_EQ(registry.execute("show voip stream-service connection").text, "connection\n");
    EXPECT_EQ(registry.execute("show voip stream-service connection history").text, "history\n");
    EXPECT_EQ(registry.execute("show voip stream-service connection id 60").text, "id [60]\n");
}

TEST(CommandRegistry, AcceptsUniqueAbbreviationsAndExtraSpaces) {
    const auto registry = make_registry();
    EXPECT_EQ(registry.execute("sh run").text, "running\n");
    EXPECT_EQ(registry.execute("  sh   voip stream-service   stat ").text, "statistics\n");
    EXPECT_EQ(registry.execute("sh call act voi br").text, "calls\n");
}

TEST(CommandRegistry, RejectsUnknownAmbiguousAndSurplusWords) {
    const auto registry = make_registry();
    auto unknown = registry.execute("show nothing");
    EXPECT_FALSE(unknown.ok);
    EXPECT_EQ(unknown.text, "% Invalid input detected at '^' marker.\nshow nothing\n     ^\n");

    auto ambiguous = registry.execute("s voip stream-service s");
    EXPECT_FALSE(ambiguous.ok);
    EXPECT_EQ(ambiguous.text, "% Ambiguous command: \"s voip stream-service s\"\n");

    auto surplus = registry.execute("show running-config extra");
    EXPECT_FALSE(surplus.ok);
    EXPECT_EQ(surplus.text, "% Invalid input detected at '^' marker.\nshow running-config extra\n"
                            "                    ^\n");

    EXPECT_FALSE(registry.execute("").ok);
    EXPECT_FALSE(registry.execute("| include x").ok);
}

TEST(CommandRegistry, TheCaretMarksTheFirstWordThatFitsNothing) {
    const auto registry = make_registry();
    // Abbreviations before the bad word, and blanks, keep the caret under it.
    EXPECT_EQ(registry.execute("sh  voip bogus statistics").text,
              "% Invalid input detected at '^' marker.\nsh  voip bogus statistics\n         ^\n");
    // One argument too many: the caret is under the first surplus word.
    EXPECT_EQ(registry.execute("show voip stream-service connection id 7 8 | json").text,
              "% Invalid input detected at '^' marker.\nshow voip stream-service connection id 7 8\n"
              "                                         ^\n");
}

TEST(CommandRegistry, AnExactSpellingWinsOverLongerKeywordsItBegins) {
    auto registry = make_registry();
    registry.add("show call", "", 0, [](const CommandArgs&) { return CommandOutput{"short\n", {}}; });
    registry.add("show callers", "", 0, [](const CommandArgs&) { return CommandOutput{"long\n", {}}; });
    EXPECT_EQ(registry.execute("show call").text, "short\n");
    EXPECT_EQ(registry.execute("show calle").text, "long\n");
    EXPECT_EQ(registry.execute("show cal").text, "% Ambiguous command: \"show cal\"\n");
}

TEST(CommandRegistry, APartOfACommandIsIncomplete) {
    const auto registry = make_registry();
    const auto result = registry.execute("show voip stream-service");
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.text, "% Incomplete command.\n");
}

TEST(CommandRegistry, HandlerErrorsBecomeInvalidInput) {
    const auto registry = make_registry();
    auto missing = registry.execute("show failing");
    EXPECT_FALSE(missing.ok);
    EXPECT_EQ(missing.text, "% Invalid input detected: an id is needed\n");
    auto failed = registry.execute("show failing 3");
    EXPECT_FALSE(failed.ok);
    EXPECT_EQ(failed.text, "% Invalid input detected: command failed: boom\n");
}

TEST(CommandRegistry, SomethingThatDoesNotExistIsSaidPlainly) {
    auto registry = make_registry();
    registry.add("show voip stream-service callid", "", 1, [](const CommandArgs& args) -> CommandOutput {
        throw voxfork::ops::NotFound("No fork for callid " + args.at(0));
    });
    const auto result = registry.execute("show voip stream-service callid 58");
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.text, "% No fork for callid 58\n");
}

TEST(CommandRegistry, ControlCharactersAndGarbageAreRejected) {
    const auto registry = make_registry();
    EXPECT_FALSE(registry.execute(std::string("show\0run", 8)).ok);
    EXPECT_FALSE(registry.execute("\x01\x02\xff").ok);
    EXPECT_FALSE(registry.execute(std::string(100000, 'x')).ok);
}

TEST(CommandRegistry, FilterAppliesToTheOutput) {
    const auto registry = make_registry();
    EXPECT_EQ(registry.execute("show voip stream-service connection id 7 | include 7").text, "id [7]\n");
    EXPECT_EQ(registry.execute("show voip stream-service connection id 7 | exclude 7").text, "");
    auto json = registry.execute("show voip stream-service connection id 7 | json");
    ASSERT_TRUE(json.ok);
    EXPECT_EQ(nlohmann::json::parse(json.text), (nlohmann::json{{"command", "id"}, {"args", {"7"}}}));
    auto bad = registry.execute("show running-config | frobnicate x");
    EXPECT_FALSE(bad.ok);
}

TEST(CommandRegistry, HelpListsEveryCommand) {
    const auto help = make_registry().help();
    EXPECT_NE(help.find("show voip stream-service connection history"), std::string::npos);
    EXPECT_NE(help.find("clear voip stream-service statistics"), std::string::npos);
}

namespace {

// Commands with help, as parts register them.
CommandRegistry registry_with_help() {
    CommandRegistry registry;
    auto none = [](const CommandArgs&) { return CommandOutput{}; };
    registry.add("show running-config", "the configuration in effect", 0, none);
    registry.add("show version", "the daemon's version", 0, none);
    registry.add("show voip stream-service connection", "open connections", 0, none);
    registry.add("show voip stream-service connection id", "one connection (ID)", 1, none);
    registry.add("show voip stream-service statistics", "forking statistics", 0, none);
    registry.add("show voip stream-service server", "connections to ADDR:PORT", 1, none);
    registry.add("show voice sip license stats table", "license reports", 0, none);
    registry.add("clear voip stream-service statistics", "zero the counters", 0, none);
    registry.describe("show voip", "Voice over IP");
    return registry;
}

}  // namespace

TEST(CommandRegistryHelp, QuestionMarkAfterABlankListsTheNextWordsWithTheirHelp) {
    const auto registry = registry_with_help();
    const auto result = registry.execute("show ?");
    ASSERT_TRUE(result.ok) << result.text;
    EXPECT_EQ(result.text,
              "  running-config  the configuration in effect\n"
              "  version         the daemon's version\n"
              "  voice           license reports\n"
              "  voip            Voice over IP\n");
    // Abbreviated words on the way; a keyword that starts several commands
    // and has no description says how many.
    EXPECT_EQ(registry.execute("sh voip ?").text, "  stream-service  4 commands\n");
    EXPECT_EQ(registry.execute("?").text, "  clear  zero the counters\n  show   7 commands\n");
}

TEST(CommandRegistryHelp, QuestionMarkRightAfterAWordListsWhatItBegins) {
    const auto registry = registry_with_help();
    EXPECT_EQ(registry.execute("sh vo?").text, "  voice  license reports\n  voip   Voice over IP\n");
    EXPECT_EQ(registry.execute("show voip stream-service s?").text,
              "  server      connections to ADDR:PORT\n  statistics  forking statistics\n");
}

TEST(CommandRegistryHelp, ACompleteCommandOffersItsArgumentTheEndAndTheFilters) {
    const auto registry = registry_with_help();
    EXPECT_EQ(registry.execute("show running-config ?").text,
              "  <cr>  run the command\n  |     output modifiers: include, exclude, section, json\n");
    EXPECT_EQ(registry.execute("show voip stream-service connection id ?").text,
              "  WORD  one connection (ID)\n  <cr>  run the command\n"
              "  |     output modifiers: include, exclude, section, json\n");
    EXPECT_EQ(registry.execute("clear voip stream-service statistics ?").text, "  <cr>  run the command\n");
    // `connection` ends one command and begins others: all are offered.
    EXPECT_EQ(registry.execute("show voip stream-service connection ?").text,
              "  id    one connection (ID)\n  <cr>  run the command\n"
              "  |     output modifiers: include, exclude, section, json\n");
}

TEST(CommandRegistryHelp, JsonGivesTheCandidatesForCompletion) {
    const auto registry = registry_with_help();
    const auto result = registry.execute("show voip stream-service st? | json");
    ASSERT_TRUE(result.ok) << result.text;
    EXPECT_EQ(nlohmann::json::parse(result.text),
              (nlohmann::json{{"candidates", {{{"word", "statistics"}, {"help", "forking statistics"}}}}}));
}

TEST(CommandRegistryHelp, ABadWordBeforeTheQuestionMarkIsMarked) {
    const auto registry = registry_with_help();
    const auto bad = registry.execute("show bogus ?");
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.text, "% Invalid input detected at '^' marker.\nshow bogus ?\n     ^\n");
    const auto nothing_begins = registry.execute("show x?");
    EXPECT_FALSE(nothing_begins.ok);
    EXPECT_EQ(nothing_begins.text, "% Invalid input detected at '^' marker.\nshow x?\n     ^\n");
    EXPECT_EQ(registry.execute("sh v ?").text, "% Ambiguous command: \"sh v\"\n");
}
