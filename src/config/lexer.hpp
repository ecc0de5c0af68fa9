// Turns the file's text into command lines: indentation measured, comments
// and blank lines dropped, words split. A line that cannot be a command at all
// (too long, binary, not UTF-8, tabs in the indentation) carries an error
// instead, so the parser can report it and carry on with the next line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace voxfork::config::detail {

// Longest line accepted; anything longer is reported, never parsed, so a
// multi-megabyte line costs one scan and one error.
inline constexpr std::size_t max_line_length = 4096;

struct Line {
    int number = 0;
    int indent = 0;                       // leading spaces
    std::string_view body;                // after the indentation, comment and trailing blanks removed
    std::vector<std::string_view> words;  // body split on blanks
    std::string error;                    // non-empty: the line is unusable, this says why

    // The text from word `index` to the end of the body ("" past the last word).
    std::string_view rest(std::size_t index) const;
};

// Yields, one at a time, the lines of `text` that hold a command (or an
// error); views point into `text`. One at a time so that a huge file of tiny
// lines costs no memory beyond the line at hand.
class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text) {}
    bool next(Line& line);  // false at the end of the text

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    int number_ = 0;
};

// All of them at once (for tests and tools).
std::vector<Line> lex(std::string_view text);

// True for the words of the file that compare case-insensitively (keywords).
bool same_word(std::string_view a, std::string_view b);

}  // namespace voxfork::config::detail
