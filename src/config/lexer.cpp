#include "lexer.hpp"

#include <cstdint>
#include <cstdio>

namespace voxfork::config::detail {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::string hex_byte(unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", c);
    return buf;
}

// Why the raw line cannot be read as text, or "" when it can: control bytes
// (NUL included) and malformed UTF-8 are what binary files are made of.
std::string binary_problem(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 && c != '\t')
            return "line contains a control character (" + hex_byte(c) + ") at column " + std::to_string(i + 1);
        if (c == 0x7f) return "line contains a control character (0x7f) at column " + std::to_string(i + 1);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t min = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            min = 0x10000;
        }
        const std::string bad =
            "line is not valid UTF-8 (byte " + hex_byte(c) + " at column " + std::to_string(i + 1) + ")";
        if (len == 0 || i + len > s.size()) return bad;
        std::uint32_t cp = c & (0x7f >> len);
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return bad;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return bad;
        i += len;
    }
    return {};
}

// A `!` after white space starts a comment, except in description text.
std::string_view strip_comment(std::string_view body) {
    for (std::size_t i = 1; i < body.size(); ++i)
        if (body[i] == '!' && is_blank(body[i - 1])) return trim_right(body.substr(0, i));
    return body;
}

std::vector<std::string_view> split_words(std::string_view s) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_blank(s[i])) ++i;
        const std::size_t start = i;
        while (i < s.size() && !is_blank(s[i])) ++i;
        if (i > start) words.push_back(s.substr(start, i - start));
    }
    return words;
}

}  // namespace

bool same_word(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

namespace {
// Commands whose last argument is text that may hold `!`: a description, and
// the text frames a raw profile sends.
bool holds_free_text(const std::vector<std::string_view>& words) {
    if (words.empty()) return false;
    if (same_word(words.front(), "description")) return true;
    return words.size() >= 2 && same_word(words[0], "raw") &&
           (same_word(words[1], "stop-message") || same_word(words[1], "keepalive-message"));
}
}  // namespace

std::string_view Line::rest(std::size_t index) const {
    if (index >= words.size()) return {};
    return body.substr(static_cast<std::size_t>(words[index].data() - body.data()));
}

bool Lexer::next(Line& line) {
    while (pos_ < text_.size()) {
        std::size_t end = text_.find('\n', pos_);
        if (end == std::string_view::npos) end = text_.size();
        std::string_view raw = text_.substr(pos_, end - pos_);
        pos_ = end + 1;
        ++number_;
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);

        line = Line{};
        line.number = number_;
        while (static_cast<std::size_t>(line.indent) < raw.size() && raw[static_cast<std::size_t>(line.indent)] == ' ')
            ++line.indent;
        if (raw.size() > max_line_length) {
            line.error = "line too long (" + std::to_string(raw.size()) + " characters, the limit is " +
                         std::to_string(max_line_length) + ")";
            return true;
        }
        if (auto problem = binary_problem(raw); !problem.empty()) {
            line.error = std::move(problem);
            return true;
        }
        std::size_t indent = 0;
        while (indent < raw.size() && is_blank(raw[indent])) ++indent;
        std::string_view body = trim_right(raw.substr(indent));
        if (body.empty() || body.front() == '!') continue;
        if (raw.substr(0, indent).find('\t') != std::string_view::npos) {
            line.error = "tab in indentation (indent sub-mode lines with spaces)";
            return true;
        }
        auto words = split_words(body);
        // Free text runs to the end of the line, `!` included.
        if (!holds_free_text(words)) {
            body = strip_comment(body);
            words = split_words(body);
        }
        line.body = body;
        line.words = std::move(words);
        return true;
    }
    return false;
}

std::vector<Line> lex(std::string_view text) {
    std::vector<Line> lines;
    Lexer lexer(text);
    for (Line line; lexer.next(line);) lines.push_back(std::move(line));
    return lines;
}

}  // namespace voxfork::config::detail
