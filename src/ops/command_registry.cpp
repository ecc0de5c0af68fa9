// Turns one control-socket line into a command call: split off the output
// filter, find the registered command by its words (IOS-style unique
// abbreviations accepted), run it, filter what it printed.
#include <algorithm>
#include <sstream>

#include "voxfork/ops.hpp"

namespace voxfork::ops {
namespace {

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::istringstream in{std::string(text)};
    for (std::string word; in >> word;) words.push_back(std::move(word));
    return words;
}

bool is_prefix(std::string_view abbreviation, std::string_view word) {
    return !abbreviation.empty() && word.substr(0, abbreviation.size()) == abbreviation;
}

// The first `|` that starts a word separates the command from its filter
// (a regular expression after the filter name may contain `|` itself).
std::pair<std::string_view, std::string_view> split_filter(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '|' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return {line.substr(0, i), line.substr(i + 1)};
    }
    return {line, {}};
}

CommandResult invalid(std::string_view reason) {
    return {false, "% Invalid input detected: " + std::string(reason) + "\n"};
}

bool printable(std::string_view line) {
    return std::all_of(line.begin(), line.end(), [](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); });
}

}  // namespace

void CommandRegistry::add(std::string words, std::string help, std::size_t max_args, CommandHandler handler) {
    entries_.push_back({split_words(words), std::move(help), max_args, std::move(handler)});
}

CommandResult CommandRegistry::execute(std::string_view line) const {
    if (!printable(line)) return invalid("command contains control characters");
    auto [command_part, filter] = split_filter(line);
    const auto words = split_words(command_part);
    if (words.empty()) return invalid(filter.empty() ? "empty command" : "filter without a command");

    // Longest command whose every word the line spells out (or abbreviates);
    // among equally long ones an exact spelling wins, else it is ambiguous.
    const Entry* best = nullptr;
    bool best_exact = false;
    bool ambiguous = false;
    for (const auto& entry : entries_) {
        if (entry.words.size() > words.size()) continue;
        bool matches = true, exact = true;
        for (std::size_t i = 0; i < entry.words.size() && matches; ++i) {
            matches = is_prefix(words[i], entry.words[i]);
            exact = exact && words[i] == entry.words[i];
        }
        if (!matches) continue;
        if (!best || entry.words.size() > best->words.size()) {
            best = &entry, best_exact = exact, ambiguous = false;
        } else if (entry.words.size() == best->words.size()) {
            if (exact && !best_exact)
                best = &entry, best_exact = true, ambiguous = false;
            else if (exact == best_exact)
                ambiguous = true;
        }
    }
    if (!best) return invalid("unknown command \"" + std::string(command_part.substr(0, 200)) + "\"");
    if (ambiguous) return invalid("ambiguous command \"" + std::string(command_part.substr(0, 200)) + "\"");

    CommandArgs args(words.begin() + static_cast<std::ptrdiff_t>(best->words.size()), words.end());
    if (args.size() > best->max_args) return invalid("unexpected \"" + args[best->max_args] + "\"");
    try {
        CommandOutput output = best->handler(args);
        if (!filter.empty()) output = apply_filter(output, filter);
        if (!output.text.empty() && output.text.back() != '\n') output.text += '\n';
        return {true, std::move(output.text)};
    } catch (const CommandError& e) {
        return invalid(e.what());
    } catch (const std::exception& e) {
        return invalid(std::string("command failed: ") + e.what());
    }
}

std::string CommandRegistry::help() const {
    std::vector<std::pair<std::string, std::string>> lines;
    for (const auto& entry : entries_) {
        std::string words;
        for (const auto& w : entry.words) words += (words.empty() ? "" : " ") + w;
        lines.emplace_back(std::move(words), entry.help);
    }
    std::sort(lines.begin(), lines.end());
    std::size_t width = 0;
    for (const auto& [words, _] : lines) width = std::max(width, words.size());
    std::string out;
    for (const auto& [words, help] : lines) out += words + std::string(width - words.size() + 2, ' ') + help + "\n";
    return out;
}

}  // namespace voxfork::ops
