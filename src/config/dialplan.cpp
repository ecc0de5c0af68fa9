// Dial-peer patterns (docs/configuration.md "Patterns").
//
// Grammar:  PATTERN := ['+'] POSITION* ['T' | '$']   (at most 64 characters)
//           POSITION := DIGIT | '.' | '[' (DIGIT | DIGIT '-' DIGIT)+ ']'
// Each POSITION matches exactly one character of the number: a digit (or the
// leading '+') literally, '.' any digit, a bracket any digit of its set.
// The positions match the start of the number and any further digits may
// follow (IOS variable-length matching: `6777` routes 67771), unless the
// pattern ends in '$', which anchors it: `6777$` matches 6777 only. A
// trailing 'T' says "any digits after" explicitly and matches like a plain
// pattern. A number shorter than the positions never matches.
//
// Choosing among dial-peers whose pattern matches ("longest match"):
//   1. more positions (the longest part of the number the pattern accounts
//      for: `6....` over `6777` for 67771, `1408T` over `1T`);
//   2. then more literal positions (digits and '+': `6777` over `67..`);
//   3. then more bracket positions (a set is narrower than '.');
//   4. then an anchored '$' pattern over an open one (`6777$` over `6777`,
//      while `6777` and `6777T` are equal);
//   5. then the lower dial-peer tag.
// Shutdown dial-peers are never chosen.
#include <tuple>
#include <vector>

#include "voxfork/dialplan.hpp"

namespace voxfork::dialplan {
namespace {

constexpr std::size_t max_pattern_length = 64;
constexpr unsigned plus_bit = 1u << 10;
constexpr unsigned any_digit = (1u << 10) - 1;

struct Position {
    unsigned accepts = 0;  // bit d for digit d, plus_bit for '+'
    bool literal = false;
    bool bracket = false;
};

struct Compiled {
    std::vector<Position> positions;
    bool anchored = false;  // trailing $: the number ends where the positions end
    std::string error;
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string at(std::size_t i) {
    return " at position " + std::to_string(i + 1);
}

// Reads `[...]` starting at pattern[i] == '['; returns the index after ']'.
std::size_t compile_bracket(std::string_view pattern, std::size_t i, Compiled& out) {
    Position position{0, false, true};
    const std::size_t open = i++;
    while (i < pattern.size() && pattern[i] != ']') {
        const char c = pattern[i];
        if (!is_digit(c)) {
            out.error =
                "unexpected '" + std::string(1, c) + "' inside [ ]" + at(i) + " (only digits and digit-digit ranges)";
            return pattern.size();
        }
        char last = c;
        if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
            last = pattern[i + 2];
            if (!is_digit(last)) {
                out.error = "unexpected '" + std::string(1, last) + "' in range" + at(i + 2);
                return pattern.size();
            }
            if (last < c) {
                out.error = "range " + std::string(1, c) + "-" + std::string(1, last) + " is reversed" + at(i);
                return pattern.size();
            }
            i += 2;
        }
        for (char d = c; d <= last; ++d) position.accepts |= 1u << (d - '0');
        ++i;
    }
    if (i >= pattern.size()) {
        out.error = "'[' without ']'" + at(open);
        return pattern.size();
    }
    if (position.accepts == 0) {
        out.error = "empty [ ]" + at(open);
        return pattern.size();
    }
    out.positions.push_back(position);
    return i + 1;
}

Compiled compile(std::string_view pattern) {
    Compiled out;
    if (pattern.empty()) {
        out.error = "empty pattern";
        return out;
    }
    if (pattern.size() > max_pattern_length) {
        out.error = "longer than " + std::to_string(max_pattern_length) + " characters";
        return out;
    }
    std::size_t i = 0;
    while (i < pattern.size() && out.error.empty()) {
        const char c = pattern[i];
        const bool last = i + 1 == pattern.size();
        if (is_digit(c))
            out.positions.push_back({1u << (c - '0'), true, false});
        else if (c == '+' && i == 0)
            out.positions.push_back({plus_bit, true, false});
        else if (c == '.')
            out.positions.push_back({any_digit, false, false});
        else if (c == '[') {
            i = compile_bracket(pattern, i, out);
            continue;
        } else if ((c == 'T' || c == '$') && last)
            out.anchored = c == '$';
        else if (c == '+')
            out.error = "'+' is only allowed at the start";
        else if (c == 'T' || c == '$')
            out.error = std::string("'") + c + "' is only allowed at the end";
        else if (c == ']')
            out.error = "']' without '['" + at(i);
        else
            out.error = "unexpected character '" + std::string(1, c) + "'" + at(i) +
                        " (allowed: digits, '+', '.', [ ], trailing 'T')";
        ++i;
    }
    const bool only_plus = out.positions.size() == 1 && out.positions[0].accepts == plus_bit;
    if (out.error.empty() && (out.positions.empty() || only_plus) && pattern.back() != 'T') out.error = "no digits";
    return out;
}

// (positions, literal, brackets, anchored): compared lexicographically, larger wins.
using Rank = std::tuple<std::size_t, int, int, int>;

std::optional<Rank> rank(const Compiled& p, std::string_view number) {
    if (!p.error.empty()) return std::nullopt;
    const auto n = p.positions.size();
    if (number.size() < n || (p.anchored && number.size() != n)) return std::nullopt;
    int literal = 0, brackets = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = number[i];
        const unsigned bit = is_digit(c) ? 1u << (c - '0') : c == '+' ? plus_bit : 0u;
        if ((p.positions[i].accepts & bit) == 0) return std::nullopt;
        literal += p.positions[i].literal;
        brackets += p.positions[i].bracket;
    }
    for (std::size_t i = n; i < number.size(); ++i)
        if (!is_digit(number[i])) return std::nullopt;
    return Rank{n, literal, brackets, p.anchored ? 1 : 0};
}

template <typename PatternOf>
const config::DialPeer* find_best(const config::Config& config, std::string_view number, PatternOf pattern_of) {
    const config::DialPeer* best = nullptr;
    Rank best_rank{};
    // dial_peers is ordered by tag, so keeping the first of equals is "ties go to the lower tag".
    for (const auto& [tag, peer] : config.dial_peers) {
        const std::optional<std::string>& pattern = pattern_of(peer);
        if (peer.shutdown || !pattern) continue;
        const auto r = rank(compile(*pattern), number);
        if (r && (!best || *r > best_rank)) {
            best = &peer;
            best_rank = *r;
        }
    }
    return best;
}

}  // namespace

std::string pattern_error(std::string_view pattern) {
    return compile(pattern).error;
}

std::optional<int> match(std::string_view pattern, std::string_view number) {
    const auto r = rank(compile(pattern), number);
    if (!r) return std::nullopt;
    return static_cast<int>(std::get<0>(*r));
}

const config::DialPeer* find_inbound(const config::Config& config, std::string_view called_number) {
    return find_best(
        config, called_number, [](const config::DialPeer& p) -> const auto& { return p.incoming_called_number; });
}

const config::DialPeer* find_outbound(const config::Config& config, std::string_view called_number) {
    return find_best(
        config, called_number, [](const config::DialPeer& p) -> const auto& { return p.destination_pattern; });
}

}  // namespace voxfork::dialplan
