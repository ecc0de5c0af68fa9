// Turns one control-socket line into a command call: split off the output
// filter, find the registered command by its words (IOS-style unique
// abbreviations accepted), run it, filter what it printed. A line whose
// command part ends in `?` asks for the words that may follow instead.
#include <algorithm>
#include <set>

#include "voxfork/ops.hpp"

namespace voxfork::ops {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

bool is_prefix(std::string_view abbreviation, std::string_view word) {
    return !abbreviation.empty() && word.substr(0, abbreviation.size()) == abbreviation;
}

// The first `|` that starts a word separates the command from its filter
// (a regular expression after the filter name may contain `|` itself).
std::pair<std::string_view, std::string_view> split_filter(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '|' && (i == 0 || is_blank(line[i - 1]))) return {line.substr(0, i), line.substr(i + 1)};
    }
    return {line, {}};
}

std::string_view trim_right(std::string_view text) {
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
    return text;
}

CommandResult invalid(std::string_view reason) {
    return {false, "% Invalid input detected: " + std::string(reason) + "\n"};
}

// IOS marks the offending word with a caret under it. The daemon does not
// know the client's prompt, so it repeats the line with the caret under it;
// an interactive client puts the caret under its own prompt line instead.
CommandResult invalid_at(std::string_view command_part, std::size_t column) {
    return {false, "% Invalid input detected at '^' marker.\n" + std::string(trim_right(command_part).substr(0, 200)) +
                       "\n" + std::string(std::min<std::size_t>(column, 200), ' ') + "^\n"};
}

CommandResult ambiguous(std::string_view command_part) {
    std::string_view text = trim_right(command_part);
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    return {false, "% Ambiguous command: \"" + std::string(text.substr(0, 200)) + "\"\n"};
}

bool printable(std::string_view line) {
    return std::all_of(line.begin(), line.end(), [](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); });
}

constexpr std::string_view complete_marker = "<cr>";
constexpr std::string_view argument_marker = "WORD";
constexpr std::string_view filter_marker = "|";

}  // namespace

// How far a line's words get through the registered commands.
struct CommandRegistry::Resolution {
    enum class Outcome { found, incomplete, invalid, ambiguous } outcome = Outcome::incomplete;
    const Entry* entry = nullptr;        // found: the command; its arguments follow its words
    std::size_t bad_word = 0;            // invalid, ambiguous: index of the word at fault
    std::vector<const Entry*> matching;  // the commands the words begin (when not invalid or ambiguous)
};

std::vector<CommandRegistry::Word> CommandRegistry::split_words(std::string_view text) {
    std::vector<CommandRegistry::Word> words;
    for (std::size_t i = 0; i < text.size();) {
        if (is_blank(text[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < text.size() && !is_blank(text[i])) ++i;
        words.push_back({std::string(text.substr(start, i - start)), start});
    }
    return words;
}

void CommandRegistry::add(std::string words, std::string help, std::size_t max_args, CommandHandler handler) {
    std::vector<std::string> split;
    for (auto& w : split_words(words)) split.push_back(std::move(w.text));
    entries_.push_back({std::move(split), std::move(help), max_args, std::move(handler)});
}

void CommandRegistry::describe(std::string words, std::string help) {
    std::vector<std::string> split;
    for (auto& w : split_words(words)) split.push_back(std::move(w.text));
    keyword_help_[std::move(split)] = std::move(help);
}

// Walks the words one position at a time: each must begin exactly one of the
// keywords the commands still in play have there (an exact spelling wins over
// longer keywords it also begins). Words past a complete command are its
// arguments.
CommandRegistry::Resolution CommandRegistry::resolve(const std::vector<Word>& words) const {
    using Outcome = Resolution::Outcome;
    std::vector<const Entry*> alive;
    for (const auto& entry : entries_) alive.push_back(&entry);

    for (std::size_t i = 0; i < words.size(); ++i) {
        std::set<std::string_view> keywords;
        bool exact = false;
        for (const Entry* entry : alive) {
            if (entry->words.size() <= i || !is_prefix(words[i].text, entry->words[i])) continue;
            keywords.insert(entry->words[i]);
            exact = exact || entry->words[i] == words[i].text;
        }
        if (keywords.empty()) {
            const auto complete =
                std::find_if(alive.begin(), alive.end(), [i](const Entry* e) { return e->words.size() == i; });
            if (complete == alive.end()) return {Outcome::invalid, nullptr, i, {}};
            const std::size_t arguments = words.size() - i;
            if (arguments > (*complete)->max_args) return {Outcome::invalid, nullptr, i + (*complete)->max_args, {}};
            return {Outcome::found, *complete, 0, std::move(alive)};
        }
        if (!exact && keywords.size() > 1) return {Outcome::ambiguous, nullptr, i, {}};
        const std::string chosen(exact ? std::string_view(words[i].text) : *keywords.begin());
        std::erase_if(alive, [&](const Entry* e) { return e->words.size() <= i || e->words[i] != chosen; });
    }
    const auto complete = std::find_if(alive.begin(), alive.end(),
                                       [&](const Entry* e) { return e->words.size() == words.size(); });
    const Entry* found = complete == alive.end() ? nullptr : *complete;
    return {found ? Outcome::found : Outcome::incomplete, found, 0, std::move(alive)};
}

CommandResult CommandRegistry::execute(std::string_view line) const {
    using Outcome = Resolution::Outcome;
    if (!printable(line)) return invalid("command contains control characters");
    auto [command_part, filter] = split_filter(line);
    if (!trim_right(command_part).empty() && trim_right(command_part).back() == '?')
        return list_next_words(command_part, filter);
    const auto words = split_words(command_part);
    if (words.empty()) return invalid(filter.empty() ? "empty command" : "filter without a command");

    const auto resolution = resolve(words);
    switch (resolution.outcome) {
        case Outcome::invalid:
            return invalid_at(command_part, words[resolution.bad_word].column);
        case Outcome::ambiguous:
            return ambiguous(command_part);
        case Outcome::incomplete:
            return {false, "% Incomplete command.\n"};
        case Outcome::found:
            break;
    }
    const Entry& entry = *resolution.entry;
    CommandArgs args;
    for (auto word = words.begin() + static_cast<std::ptrdiff_t>(entry.words.size()); word != words.end(); ++word)
        args.push_back(word->text);
    try {
        CommandOutput output = entry.handler(args);
        if (!filter.empty()) output = apply_filter(output, filter);
        if (!output.text.empty() && output.text.back() != '\n') output.text += '\n';
        return {true, std::move(output.text)};
    } catch (const NotFound& e) {
        return {false, "% " + std::string(e.what()) + "\n"};
    } catch (const CommandError& e) {
        return invalid(e.what());
    } catch (const std::exception& e) {
        return invalid(std::string("command failed: ") + e.what());
    }
}

std::string CommandRegistry::keyword_help(const std::vector<std::string>& path,
                                          const std::vector<const Entry*>& below) const {
    for (const Entry* entry : below)
        if (entry->words.size() == path.size()) return entry->help;  // the keyword ends a command
    if (const auto described = keyword_help_.find(path); described != keyword_help_.end()) return described->second;
    if (below.size() == 1) return below.front()->help;
    return std::to_string(below.size()) + " commands";
}

// `show ?` (what may follow) and `sh v?` (what `v` may be): one line per
// candidate with its help; `| json` gives {"candidates": [{word, help}]}.
CommandResult CommandRegistry::list_next_words(std::string_view command_part, std::string_view filter) const {
    using Outcome = Resolution::Outcome;
    std::string_view body = trim_right(command_part);
    body.remove_suffix(1);  // the `?`
    const bool partial = !body.empty() && !is_blank(body.back());
    auto words = split_words(body);
    std::string typed;  // the partial word `?` completes
    if (partial) {
        typed = words.back().text;
        words.pop_back();
    }

    std::vector<std::pair<std::string, std::string>> candidates;
    const auto resolution = resolve(words);
    if (resolution.outcome == Outcome::invalid)
        return invalid_at(command_part, words[resolution.bad_word].column);
    if (resolution.outcome == Outcome::ambiguous) return ambiguous(body);

    const Entry* complete = resolution.entry;
    if (complete && words.size() > complete->words.size()) {
        // Among the command's arguments: only another argument or the end.
        const std::size_t given = words.size() - complete->words.size();
        if (partial ? given < complete->max_args : given + 1 <= complete->max_args)
            candidates.emplace_back(argument_marker, complete->help);
    } else {
        // Keywords of the longer commands these words begin...
        // Every command still in play spells the words out the same way.
        std::vector<std::string> path;
        if (!resolution.matching.empty()) {
            const auto& spelled = resolution.matching.front()->words;
            path.assign(spelled.begin(), spelled.begin() + static_cast<std::ptrdiff_t>(words.size()));
        }
        std::set<std::string> keywords;
        for (const Entry* entry : resolution.matching)
            if (entry->words.size() > path.size() && (!partial || is_prefix(typed, entry->words[path.size()])))
                keywords.insert(entry->words[path.size()]);
        for (const auto& keyword : keywords) {
            std::vector<const Entry*> below;
            for (const Entry* entry : resolution.matching)
                if (entry->words.size() > path.size() && entry->words[path.size()] == keyword) below.push_back(entry);
            auto keyword_path = path;
            keyword_path.push_back(keyword);
            candidates.emplace_back(keyword, keyword_help(keyword_path, below));
        }
        // ...and, when the words already make a command, its first argument.
        if (complete && complete->max_args > 0) candidates.emplace_back(argument_marker, complete->help);
    }
    if (complete && !partial) {
        candidates.emplace_back(complete_marker, "run the command");
        if (filter.empty() && complete->words.front() == "show")
            candidates.emplace_back(filter_marker, "output modifiers: include, exclude, section, json");
    }
    if (candidates.empty()) {
        if (partial) return invalid_at(command_part, body.size() - typed.size());
        return {false, "% Unrecognized command\n"};
    }

    std::size_t width = 0;
    for (const auto& [word, _] : candidates) width = std::max(width, word.size());
    CommandOutput output;
    output.data = {{"candidates", nlohmann::json::array()}};
    for (const auto& [word, help] : candidates) {
        output.text += "  " + word + std::string(width - word.size() + 2, ' ') + help + "\n";
        output.data["candidates"].push_back({{"word", word}, {"help", help}});
    }
    if (!filter.empty()) {
        try {
            output = apply_filter(output, filter);
        } catch (const CommandError& e) {
            return invalid(e.what());
        }
    }
    return {true, std::move(output.text)};
}

std::string CommandRegistry::help() const {
    std::vector<std::pair<std::string, std::string>> lines;
    for (const auto& entry : entries_) lines.emplace_back(joined(entry.words), entry.help);
    std::sort(lines.begin(), lines.end());
    std::size_t width = 0;
    for (const auto& [words, _] : lines) width = std::max(width, words.size());
    std::string out;
    for (const auto& [words, help] : lines) out += words + std::string(width - words.size() + 2, ' ') + help + "\n";
    return out;
}

}  // namespace voxfork::ops
