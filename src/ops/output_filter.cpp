// The output filters of operations.md: `| include`, `| exclude`,
// `| section` (`| sec`) and `| json`.
#include <cctype>
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

std::regex compile(std::string_view expression) {
    if (expression.empty()) throw CommandError("the filter needs a regular expression");
    try {
        return std::regex(std::string(expression), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        throw CommandError("bad regular expression \"" + std::string(expression) + "\": " + e.what());
    }
}

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

CommandOutput keep_lines(const CommandOutput& output, const std::regex& re, bool keep_matching) {
    CommandOutput filtered;
    for (const auto& line : split_lines(output.text))
        if (std::regex_search(line, re) == keep_matching) filtered.text += line + "\n";
    return filtered;
}

// A section is a line at indentation 0 with the indented lines under it. An
// empty (or blank) line ends it; it and any indented lines after it, until
// the next line at indentation 0, belong to no section and are not printed.
CommandOutput keep_sections(const CommandOutput& output, const std::regex& re) {
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
        block_matches = block_matches || std::regex_search(line, re);
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

    if (name == "include" || name == "i" || name == "inc") return keep_lines(output, compile(argument), true);
    if (name == "exclude" || name == "e" || name == "exc") return keep_lines(output, compile(argument), false);
    if (name == "section" || name == "sec" || name == "s") return keep_sections(output, compile(argument));
    if (name == "json") {
        if (!argument.empty()) throw CommandError("json takes no argument");
        nlohmann::json data = output.data;
        if (data.is_null()) data = {{"lines", split_lines(output.text)}};
        return {data.dump(2) + "\n", data};
    }
    throw CommandError("unknown filter \"" + std::string(name) + "\" (include, exclude, section, json)");
}

}  // namespace voxfork::ops
