#include "prompt.hpp"

#include <nlohmann/json.hpp>

namespace voxfork::cli {
namespace {

constexpr std::string_view caret_message = "% Invalid input detected at '^' marker.\n";

}  // namespace

std::string caret_under_prompt(const std::string& answer, std::size_t line_column) {
    if (!answer.starts_with(caret_message)) return answer;
    const auto echo_end = answer.find('\n', caret_message.size());
    if (echo_end == std::string::npos) return answer;
    const auto caret_line = answer.substr(echo_end + 1);
    const auto caret = caret_line.find('^');
    if (caret == std::string::npos || caret_line.find_first_not_of(' ') != caret) return answer;
    return std::string(line_column + caret, ' ') + "^\n" + std::string(caret_message);
}

std::optional<std::vector<std::string>> completion_words(const std::string& json_answer) {
    const auto data = nlohmann::json::parse(json_answer, nullptr, /*allow_exceptions=*/false);
    if (!data.is_object() || !data.contains("candidates") || !data["candidates"].is_array()) return std::nullopt;
    std::vector<std::string> words;
    for (const auto& candidate : data["candidates"]) {
        if (!candidate.is_object() || !candidate.contains("word") || !candidate["word"].is_string()) continue;
        auto word = candidate["word"].get<std::string>();
        if (word == "<cr>" || word == "WORD" || word == "|") continue;
        words.push_back(std::move(word));
    }
    return words;
}

}  // namespace voxfork::cli
