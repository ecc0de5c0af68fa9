#include "prompt.hpp"

#include <gtest/gtest.h>

using voxfork::cli::caret_under_prompt;
using voxfork::cli::completion_words;

TEST(CaretUnderPrompt, MovesTheMarkerUnderTheTypedLineAndPutsTheMessageAfter) {
    const std::string answer = "% Invalid input detected at '^' marker.\nshow nothing\n     ^\n";
    // "sbc#" is 4 columns: the word starts at column 4 + 5.
    EXPECT_EQ(caret_under_prompt(answer, 4), "         ^\n% Invalid input detected at '^' marker.\n");
    EXPECT_EQ(caret_under_prompt(answer, 0), "     ^\n% Invalid input detected at '^' marker.\n");
}

TEST(CaretUnderPrompt, LeavesEveryOtherAnswerAlone) {
    for (const std::string answer : {"% Ambiguous command: \"sh v\"\n", "% Invalid input detected: no fork for callid 9\n",
                                     "Id: 60\n", "", "% Invalid input detected at '^' marker.\n",
                                     "% Invalid input detected at '^' marker.\nshow x\nnot a caret\n"})
        EXPECT_EQ(caret_under_prompt(answer, 7), answer);
}

TEST(CompletionWords, KeepsWordsAndDropsTheMarkers) {
    const auto words = completion_words(
        R"({"candidates": [{"word": "server", "help": "x"}, {"word": "statistics", "help": "y"},
                           {"word": "WORD", "help": "z"}, {"word": "<cr>", "help": ""}, {"word": "|", "help": ""}]})");
    ASSERT_TRUE(words);
    EXPECT_EQ(*words, (std::vector<std::string>{"server", "statistics"}));
}

TEST(CompletionWords, AnythingElseIsNoList) {
    EXPECT_FALSE(completion_words("% Ambiguous command: \"sh v\"\n"));
    EXPECT_FALSE(completion_words(R"({"lines": []})"));
    EXPECT_FALSE(completion_words(""));
    EXPECT_EQ(completion_words(R"({"candidates": []})"), std::vector<std::string>{});
}
