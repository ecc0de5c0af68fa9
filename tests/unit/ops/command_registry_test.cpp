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
    EXPECT_EQ(unknown.text, "% Invalid input detected: unknown command \"show nothing\"\n");

    auto ambiguous = registry.execute("s voip stream-service s");
    EXPECT_FALSE(ambiguous.ok);
    EXPECT_NE(ambiguous.text.find("ambiguous command"), std::string::npos);

    auto surplus = registry.execute("show running-config extra");
    EXPECT_FALSE(surplus.ok);
    EXPECT_EQ(surplus.text, "% Invalid input detected: unexpected \"extra\"\n");

    EXPECT_FALSE(registry.execute("").ok);
    EXPECT_FALSE(registry.execute("| include x").ok);
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
