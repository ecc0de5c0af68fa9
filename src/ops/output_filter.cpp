// The output filters of voxfork(1): `| include`, `| exclude`,
// `| section` (`| sec`) and `| json`.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <regex>
#include <sstream>

#include "voxfork/ops.hpp"

namespace voxfork::ops {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
    return lines;
}

// std::regex is not safe with whatever an operator types: its compiler
// recurses once per alternative and per group (a long expression overflows
// the stack), copies a repeated item once per count ((a{255}){255} is 65,025
// states), reads a count into an int without checking for overflow, and its
// default matcher backtracks ((a|a)*b takes exponential time). So an
// expression is measured before it is compiled, and matched by libstdc++'s
// polynomial (breadth-first) matcher, which refuses back-references. That
// matcher still takes the line's length times the automaton's states per
// start position: (.*){255}x held the thread 145 s on the output of 1,000
// calls. LineMatcher below makes that one pass per line, and lookaheads,
// which it runs as a nested match at every position of the line (145 ms for
// one line of 112 characters), are refused like back-references.
constexpr std::size_t max_expression_bytes = 256;
constexpr std::size_t max_repeat = 255;
constexpr std::size_t max_states = 2000;
// The control socket shares its thread with SIP, whose overload control
// sheds new calls at 500 ms of lag: a filter stops well before that.
constexpr std::chrono::milliseconds max_filter_time{250};

// A backslash and a digit 1-9 at `i`: a back-reference, whose number libstdc++
// reads into a long without an overflow check.
bool back_reference(std::string_view e, std::size_t i) {
    return e[i] == '\\' && i + 1 < e.size() && e[i + 1] >= '1' && e[i + 1] <= '9';
}

// The characters an escape at `i` takes: libstdc++ reads `\cX` as a control
// character whatever X is, a backslash too (so `\c\1` is no back-reference
// and `\c\\1` is one); `\xNN` and `\uNNNN` take hex digits only (anything
// else is an error), so two will do for them.
std::size_t escape_length(std::string_view e, std::size_t i) {
    return i + 1 < e.size() && e[i + 1] == 'c' ? 3 : 2;
}

CommandError back_references() {
    return CommandError("back-references are not supported in a filter");
}

void check_expression(std::string_view e) {
    if (e.size() > max_expression_bytes)
        throw CommandError("regular expression longer than " + std::to_string(max_expression_bytes) + " characters");
    const auto too_complex = [] { return CommandError("regular expression too complex"); };
    const auto capped = [](std::size_t n) { return std::min(n, max_states + 1); };
    // Per open group: the states of its finished alternatives, of the
    // current one so far, and of the current one's last item (a quantifier
    // repeats that).
    struct Group {
        std::size_t alternatives = 0, sequence = 0, last = 0;
    };
    std::vector<Group> groups(1);
    const auto add = [&](std::size_t states) {
        Group& g = groups.back();
        g.sequence = capped(g.sequence + states);
        g.last = states;
        if (g.sequence > max_states) throw too_complex();
    };
    const auto repeat = [&](std::size_t times) {
        Group& g = groups.back();
        const std::size_t extra = capped(g.last * (times > 0 ? times - 1 : 0));
        g.sequence = capped(g.sequence + extra);
        g.last = capped(g.last * std::max<std::size_t>(times, 1));
        if (g.sequence > max_states) throw too_complex();
    };
    for (std::size_t i = 0; i < e.size(); ++i) {
        switch (e[i]) {
            case '\\':
                if (back_reference(e, i)) throw back_references();
                i += escape_length(e, i) - 1;
                add(1);
                break;
            case '[': {  // a class is one state, whatever it holds
                // ECMAScript: `[]` is an empty class and `[^]` any character,
                // a `]` first in a class ends it. libstdc++ reads `\1` as a
                // back-reference in a class too.
                std::size_t j = i + 1;
                if (j < e.size() && e[j] == '^') ++j;
                while (j < e.size() && e[j] != ']') {
                    if (back_reference(e, j)) throw back_references();
                    j += e[j] == '\\' ? escape_length(e, j) : 1;
                }
                i = std::min(j, e.size());
                add(1);
                break;
            }
            case '(':
                if (const auto kind = e.substr(i + 1, 2); kind == "?=" || kind == "?!")
                    throw CommandError("lookaheads are not supported in a filter");
                groups.emplace_back();
                if (groups.size() > 64) throw too_complex();
                break;
            case ')':
                if (groups.size() > 1) {
                    const Group g = groups.back();
                    groups.pop_back();
                    add(capped(g.alternatives + g.sequence + 2));
                } else {
                    add(1);
                }
                break;
            case '|': {
                Group& g = groups.back();
                g.alternatives = capped(g.alternatives + g.sequence);
                g.sequence = g.last = 0;
                break;
            }
            case '+':  // the item once more, then a loop
                repeat(2);
                break;
            case '{': {
                std::size_t j = i + 1, counts[2] = {0, 0}, n = 0;
                bool open_ended = false;
                for (; n < 2; ++n) {
                    const std::size_t start = j;
                    while (j < e.size() && e[j] >= '0' && e[j] <= '9') {
                        counts[n] = counts[n] * 10 + static_cast<std::size_t>(e[j] - '0');
                        if (counts[n] > max_repeat)
                            throw CommandError("repetition count over " + std::to_string(max_repeat));
                        ++j;
                    }
                    if (j == start) {
                        open_ended = n == 1;
                        break;
                    }
                    if (n == 0 && j < e.size() && e[j] == ',') {
                        ++j;
                        continue;
                    }
                    ++n;
                    break;
                }
                repeat(std::max(counts[0], counts[1]) + (open_ended ? 1 : 0));
                // Past the count: read again, its digits were states of their
                // own, and a count after it (a{98}{214}) repeated one of them
                // instead of the 98 (found by fuzzing: 20,972 states, a stack
                // overflow in the matcher's recursion under ASan).
                i = j < e.size() && e[j] == '}' ? j : j - 1;
                break;
            }
            default:
                add(1);
        }
    }
    while (groups.size() > 1) {  // an unbalanced expression: std::regex refuses it
        const Group g = groups.back();
        groups.pop_back();
        add(capped(g.alternatives + g.sequence + 2));
    }
    if (groups.back().alternatives + groups.back().sequence > max_states) throw too_complex();
}

// An expression E, ready to test lines one by one. A search for E tries
// every start position, one pass each; the whole line matched against
// [\s\S]*(?:E)[\s\S]* gives the same answer in one pass (E's anchors and
// assertions still see the whole line). The filter gives up, with an error
// rather than half an answer, once it has run for max_filter_time.
class LineMatcher {
public:
    explicit LineMatcher(std::string_view expression) : re_(compile(expression)) {}

    bool matches(const std::string& line) {
        if (std::chrono::steady_clock::now() > deadline_)
            throw CommandError("regular expression too slow for this output (stopped after " +
                               std::to_string(max_filter_time.count()) + " ms)");
        return std::regex_match(line, re_);
    }

private:
    static std::regex compile(std::string_view expression) {
        if (expression.empty()) throw CommandError("the filter needs a regular expression");
        check_expression(expression);
        const auto flags = std::regex::ECMAScript | std::regex::nosubs | std::regex_constants::__polynomial;
        try {
            // Alone first: its errors are the operator's, and a valid E is
            // balanced, so it cannot break out of the group around it.
            std::regex(std::string(expression), flags);
            return std::regex("[\\s\\S]*(?:" + std::string(expression) + ")[\\s\\S]*", flags);
        } catch (const std::regex_error& e) {
            throw CommandError("bad regular expression \"" + std::string(expression) + "\": " + e.what());
        }
    }

    std::regex re_;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + max_filter_time;
};

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

CommandOutput keep_lines(const CommandOutput& output, LineMatcher matcher, bool keep_matching) {
    CommandOutput filtered;
    for (const auto& line : split_lines(output.text))
        if (matcher.matches(line) == keep_matching) filtered.text += line + "\n";
    return filtered;
}

// A section is a line at indentation 0 with the indented lines under it. An
// empty (or blank) line ends it; it and any indented lines after it, until
// the next line at indentation 0, belong to no section and are not printed.
CommandOutput keep_sections(const CommandOutput& output, LineMatcher matcher) {
    CommandOutput filtered;
    std::string block;
    bool in_block = false, block_matches = false;
    auto flush = [&] {
        if (block_matches) filtered.text += block;
        block.clear();
        in_block = block_matches = false;
    };
    for (const auto& line : split_lines(output.text)) {
        if (trim(line).empty()) {
            flush();
            continue;
        }
        if (line[0] != ' ' && line[0] != '\t') {
            flush();
            in_block = true;
        }
        if (!in_block) continue;
        block += line + "\n";
        block_matches = block_matches || matcher.matches(line);
    }
    flush();
    return filtered;
}

}  // namespace

std::string json_key(std::string_view label) {
    std::string key;
    bool gap = false;  // a run of anything but letters and digits since the last word
    for (const char ch : label) {
        const auto c = static_cast<unsigned char>(ch);
        if (!std::isalnum(c)) {
            gap = true;
            continue;
        }
        if (gap && !key.empty()) key += '_';
        gap = false;
        key += static_cast<char>(std::tolower(c));
    }
    return key;
}

CommandOutput apply_filter(const CommandOutput& output, std::string_view filter) {
    filter = trim(filter);
    const auto space = filter.find_first_of(" \t");
    const std::string_view name = filter.substr(0, space);
    const std::string_view argument = space == std::string_view::npos ? std::string_view{} : trim(filter.substr(space));

    if (name == "include" || name == "i" || name == "inc") return keep_lines(output, LineMatcher(argument), true);
    if (name == "exclude" || name == "e" || name == "exc") return keep_lines(output, LineMatcher(argument), false);
    if (name == "section" || name == "sec" || name == "s") return keep_sections(output, LineMatcher(argument));
    if (name == "json") {
        if (!argument.empty()) throw CommandError("json takes no argument");
        nlohmann::json data = output.data;
        if (data.is_null()) data = {{"lines", split_lines(output.text)}};
        return {data.dump(2) + "\n", data};
    }
    throw CommandError("unknown filter \"" + std::string(name) + "\" (include, exclude, section, json)");
}

}  // namespace voxfork::ops
