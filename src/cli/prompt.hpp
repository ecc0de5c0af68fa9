// What the interactive prompt does with the daemon's answers, kept apart from
// the terminal so that it can be tested: where the `^` marker goes, and the
// words Tab may complete to.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace voxfork::cli {

// The daemon answers a word that fits nothing with its message, the line as
// it received it and a `^` under the word. At a prompt the line is already on
// the screen: this returns the caret placed under it instead (`line_column`
// is where the line sent starts on the screen) followed by the message, as
// IOS prints it. Any other answer comes back unchanged.
std::string caret_under_prompt(const std::string& answer, std::size_t line_column);

// The words of a `LINE? | json` answer that can replace the word being typed
// (the `<cr>`, `WORD` and `|` entries name no word); nullopt when the answer
// is not such a list.
std::optional<std::vector<std::string>> completion_words(const std::string& json_answer);

}  // namespace voxfork::cli
