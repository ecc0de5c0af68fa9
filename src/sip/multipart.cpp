#include "multipart.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "text.hpp"

namespace voxfork::sip::multipart {
namespace {

bool is_boundary_char(char c) {
    // RFC 2046 bchars (a space only inside, never last).
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Where the line holding `at` ends (at its LF, or the end of the text) and
// where the next one starts.
std::size_t line_end(std::string_view text, std::size_t at) {
    const std::size_t lf = text.find('\n', at);
    return lf == std::string_view::npos ? text.size() : lf;
}

// A delimiter line at `at`: "--" boundary, "--" when it closes, then only
// whitespace to the end of the line. Returns whether it is one.
bool delimiter_at(std::string_view body, std::size_t at, std::string_view boundary, bool& closes) {
    if (body.compare(at, 2, "--") != 0 || body.compare(at + 2, boundary.size(), boundary) != 0) return false;
    std::size_t rest = at + 2 + boundary.size();
    closes = body.compare(rest, 2, "--") == 0;
    if (closes) rest += 2;
    return trim(body.substr(rest, line_end(body, rest) - rest)).empty();
}

// The Content-Type of a part's header lines, lower case, without parameters.
std::string content_type(std::string_view headers) {
    std::string found;
    bool in_type = false;  // continuation lines of a folded Content-Type
    for (std::size_t at = 0; at < headers.size();) {
        const std::size_t end = line_end(headers, at);
        const std::string_view line = headers.substr(at, end - at);
        at = end + 1;
        if (!line.empty() && is_blank(line.front())) {
            if (in_type) found += ' ' + std::string(trim(line));
            continue;
        }
        in_type = false;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = trim(line.substr(0, colon));
        if (!equals_ignoring_case(name, "content-type") && !equals_ignoring_case(name, "c")) continue;
        found = std::string(trim(line.substr(colon + 1)));
        in_type = true;
    }
    return lower_case(trim(std::string_view(found).substr(0, found.find(';'))));
}

}  // namespace

std::optional<std::string_view> find_boundary(std::string_view body) {
    for (std::size_t at = 0; at < body.size(); at = line_end(body, at) + 1) {
        if (body.compare(at, 2, "--") != 0) continue;
        std::size_t end = at + 2;
        while (end < body.size() && is_boundary_char(body[end])) ++end;
        if (end < body.size() && body[end] != '\r' && body[end] != '\n') continue;
        std::string_view boundary = body.substr(at + 2, end - at - 2);
        while (!boundary.empty() && boundary.back() == ' ') boundary.remove_suffix(1);
        if (!boundary.empty()) return boundary;
    }
    return std::nullopt;
}

std::optional<std::vector<BodyPart>> split(std::string_view body, std::string_view boundary) {
    if (boundary.empty()) return std::nullopt;
    std::vector<BodyPart> parts;
    std::size_t count = 0;  // parts with and without a type
    std::size_t part_start = std::string_view::npos;  // where the open part's text starts
    for (std::size_t at = 0; at < body.size(); at = line_end(body, at) + 1) {
        bool closes = false;
        if (!delimiter_at(body, at, boundary, closes)) continue;
        if (part_start != std::string_view::npos) {
            // The line break before the delimiter is the delimiter's.
            std::size_t part_end = at;
            if (part_end > part_start && body[part_end - 1] == '\n') --part_end;
            if (part_end > part_start && body[part_end - 1] == '\r') --part_end;
            const std::string_view text = body.substr(part_start, part_end - part_start);
            // The headers end at the first empty line; without one the part is all headers.
            std::size_t content = text.size(), line = 0;
            while (line < text.size()) {
                const std::size_t end = line_end(text, line);
                if (text.substr(line, end - line) == "" || text.substr(line, end - line) == "\r") {
                    content = std::min(end + 1, text.size());
                    break;
                }
                line = end + 1;
            }
            if (++count > max_parts) return std::nullopt;
            BodyPart part;
            part.content_type = content_type(text.substr(0, std::min(line, text.size())));
            if (!part.content_type.empty()) {
                part.text = std::string(text.substr(content));
                parts.push_back(std::move(part));
            }
        }
        if (closes) return parts;
        part_start = std::min(line_end(body, at) + 1, body.size());
    }
    return std::nullopt;  // no close delimiter
}

}  // namespace voxfork::sip::multipart
