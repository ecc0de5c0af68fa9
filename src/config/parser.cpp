// Walks the lexed lines: indentation decides which mode a line belongs to,
// the mode's command table decides what it means. Every error is recorded
// and the walk goes on, so one run reports all problems of a file.
#include <algorithm>
#include <array>

#include "commands.hpp"

namespace voxfork::config::detail {

// More errors than this and the file is not a configuration file at all.
inline constexpr std::size_t max_errors = 1000;

namespace {

struct ModeInfo {
    Mode mode;
    std::string_view name;    // for "is not a ... command"
    std::string_view opener;  // the command that opens it
};

constexpr std::array<ModeInfo, 8> modes{{
    {Mode::global, "global", ""},
    {Mode::voip, "voip", "voice service voip"},
    {Mode::trusted, "trusted-list", "ip address trusted list"},
    {Mode::sip, "sip", "sip"},
    {Mode::profile, "stream-service profile", "media profile stream-service TAG"},
    {Mode::media_class, "media class", "media class TAG"},
    {Mode::trustpoint, "trustpoint", "crypto pki trustpoint NAME"},
    {Mode::dial_peer, "dial-peer", "dial-peer voice TAG voip"},
}};

const ModeInfo& info(Mode mode) {
    return *std::find_if(modes.begin(), modes.end(), [mode](const ModeInfo& m) { return m.mode == mode; });
}

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

// How many words of `words` the keywords cover (0: they don't all match).
std::size_t keyword_match(std::string_view keywords, std::span<const std::string_view> words) {
    std::size_t count = 0;
    while (!keywords.empty()) {
        const auto space = keywords.find(' ');
        const auto keyword = keywords.substr(0, space);
        if (count >= words.size() || !same_word(keyword, words[count])) return 0;
        ++count;
        keywords = space == std::string_view::npos ? std::string_view{} : keywords.substr(space + 1);
    }
    return count;
}

struct Match {
    const CommandSpec* spec = nullptr;
    std::size_t keywords = 0;
};

// The command of `mode` with the most keywords matching the start of `words`.
Match find_command(Mode mode, std::span<const std::string_view> words) {
    Match best;
    for (const auto table : {global_commands(), block_commands()})
        for (const auto& spec : table) {
            if (spec.mode != mode) continue;
            if (const auto n = keyword_match(spec.words, words); n > best.keywords) best = {&spec, n};
        }
    return best;
}

class Walker {
public:
    explicit Walker(ParseState& state) : s_(state) {}

    void run(Lexer lexer) {
        bool ended = false;
        for (Line line; lexer.next(line);) {
            if (s_.errors.size() >= max_errors) {
                error(line.number, "too many errors (" + std::to_string(max_errors) + "), stopped reading here");
                stopped_ = true;
                return;
            }
            // A command after `end` is refused rather than silently dropped: it is
            // most likely a line appended to a file that ends in `end`, meant to count.
            if (ended) {
                const std::string what = line.error.empty() ? quoted(line.body) : "text";
                error(line.number, what + " after \"end\" (end closes the file)");
                return;
            }
            if (skip_deeper_than_ >= 0 && line.indent > skip_deeper_than_) continue;
            skip_deeper_than_ = -1;
            if (!line.error.empty()) {
                error(line.number, line.error);
                skip_deeper_than_ = line.indent;
                continue;
            }
            if (line.words.size() == 1 && same_word(line.words[0], "end")) {
                ended = true;
                continue;
            }
            apply(line);
        }
    }

    bool stopped() const { return stopped_; }

private:
    struct Frame {
        Mode mode;
        int opener_indent;
        int body_indent;  // -1 until the first line of the sub-mode is seen
    };

    void error(int line, std::string message) { s_.errors.push_back({s_.path, line, std::move(message)}); }

    // Finds the open mode a line at indentation `indent` belongs to; false
    // when it is indented deeper than anything open allows.
    bool resolve(int indent) {
        for (;;) {
            Frame& top = stack_.back();
            if (top.body_indent < 0) {
                if (indent > top.opener_indent) {
                    top.body_indent = indent;
                    return true;
                }
                stack_.pop_back();
                continue;
            }
            if (indent == top.body_indent) return true;
            if (indent < top.body_indent) {
                stack_.pop_back();  // the global frame (body 0) is never popped
                continue;
            }
            return false;
        }
    }

    void apply(const Line& line) {
        if (!resolve(line.indent)) {
            error(line.number,
                  "unexpected indentation of " + quoted(line.body) + " (the line above opens no sub-mode)");
            skip_deeper_than_ = line.indent;
            return;
        }
        // `exit` (as pasted from a CUBE session) closes the sub-mode it is in;
        // at global level it does nothing.
        if (line.words.size() == 1 && same_word(line.words[0], "exit")) {
            if (stack_.size() > 1) stack_.pop_back();
            return;
        }
        const Mode mode = stack_.back().mode;
        const bool negated = same_word(line.words[0], "no");
        const auto words = std::span(line.words).subspan(negated ? 1 : 0);
        if (words.empty()) return error(line.number, "incomplete command \"no\"");

        const Match match = find_command(mode, words);
        if (!match.spec) {
            wrong_place(line, mode, words);
            skip_deeper_than_ = line.indent;
            return;
        }
        const Handler handler = negated ? match.spec->unset : match.spec->set;
        if (!handler) return error(line.number, quoted("no " + std::string(match.spec->words)) + " is not supported");
        s_.opened.reset();
        handler(Context(s_, line, match.spec->words, match.keywords + (negated ? 1 : 0)));
        if (s_.opened) stack_.push_back({*s_.opened, line.indent, -1});
    }

    // A command not known in `mode`: maybe it belongs to another one.
    void wrong_place(const Line& line, Mode mode, std::span<const std::string_view> words) {
        std::string keywords, owners;
        for (const auto& other : modes) {
            if (other.mode == mode) continue;
            const Match match = find_command(other.mode, words);
            if (!match.spec) continue;
            keywords = match.spec->words;
            if (!owners.empty()) owners += " or ";
            owners += other.mode == Mode::global ? "at global level, not indented" : "under " + quoted(other.opener);
        }
        if (owners.empty()) return error(line.number, "unknown command " + quoted(line.body));
        error(line.number, quoted(keywords) + " is not a " + std::string(info(mode).name) +
                               "-mode command (it belongs " + owners + ")");
    }

    ParseState& s_;
    std::vector<Frame> stack_{{Mode::global, -1, 0}};
    int skip_deeper_than_ = -1;  // after a line that could not be read, its indented lines are skipped
    bool stopped_ = false;
};

void check_references(ParseState& s) {
    const Config& c = s.config;
    auto error = [&](int line, std::string message) { s.errors.push_back({s.path, line, std::move(message)}); };
    for (const auto& [tag, line] : s.class_profile_lines) {
        const auto it = c.media_classes.find(tag);
        if (it == c.media_classes.end() || !it->second.stream_service_profile) continue;
        const auto profile = *it->second.stream_service_profile;
        if (!c.stream_service_profiles.contains(profile))
            error(line, "media class " + std::to_string(tag) + ": stream-service profile " + std::to_string(profile) +
                            " does not exist");
    }
    for (const auto& [tag, line] : s.peer_class_lines) {
        const auto it = c.dial_peers.find(tag);
        if (it == c.dial_peers.end() || !it->second.media_class) continue;
        const auto media_class = *it->second.media_class;
        if (!c.media_classes.contains(media_class))
            error(line, "dial-peer voice " + std::to_string(tag) + ": media-class " + std::to_string(media_class) +
                            " does not exist");
    }
    if (c.http_client_secure_trustpoint && !c.trustpoints.contains(*c.http_client_secure_trustpoint))
        error(s.secure_trustpoint_line, "http client secure-trustpoint: trustpoint " +
                                            quoted(*c.http_client_secure_trustpoint) + " does not exist");
}

}  // namespace

// ---- Context ----

Context::Context(ParseState& st, const Line& l, std::string_view n, std::size_t keyword_count)
    : state(st),
      config(st.config),
      line(l),
      name(n),
      args(std::span(l.words).subspan(keyword_count)),
      first_arg(keyword_count) {}

void Context::error(std::string message) const {
    state.errors.push_back({state.path, line.number, std::move(message)});
}

bool Context::at_most(std::size_t count) const {
    if (args.size() <= count) return true;
    error("unexpected argument " + quoted(args[count]) + " for " + quoted(name));
    return false;
}

bool Context::exactly(std::size_t count, std::string_view what) const {
    if (!at_most(count)) return false;
    if (args.size() == count) return true;
    error("incomplete command " + quoted(line.body) + " (expected " + std::string(name) + " " + std::string(what) +
          ")");
    return false;
}

std::optional<std::string_view> Context::arg(std::size_t index, std::string_view what) const {
    if (index < args.size()) return args[index];
    error("missing " + std::string(what) + " for " + quoted(name));
    return std::nullopt;
}

std::optional<std::string> Context::text(std::size_t index, std::string_view what) const {
    if (!arg(index, what)) return std::nullopt;
    return std::string(line.rest(first_arg + index));
}

std::optional<std::int64_t> Context::number(std::size_t index, std::string_view what, std::int64_t lo,
                                            std::int64_t hi) const {
    const auto word = arg(index, what);
    if (!word) return std::nullopt;
    const auto value = parse_number(*word);
    if (!value) {
        error("invalid " + std::string(what) + " " + quoted(*word) + " for " + quoted(name) + " (expected a number " +
              std::to_string(lo) + "-" + std::to_string(hi) + ")");
        return std::nullopt;
    }
    if (*value < lo || *value > hi) {
        error("value " + std::string(*word) + " out of range " + std::to_string(lo) + "-" + std::to_string(hi) +
              " for " + quoted(name));
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint32_t> Context::ipv4(std::size_t index, std::string_view what) const {
    const auto word = arg(index, what);
    if (!word) return std::nullopt;
    if (auto address = parse_ipv4(*word)) return address;
    error("invalid " + std::string(what) + " " + quoted(*word) + " for " + quoted(name) +
          " (expected an IPv4 address like 127.0.0.1)");
    return std::nullopt;
}

std::optional<net::Address> Context::ip_address(std::size_t index, std::string_view what) const {
    const auto word = arg(index, what);
    if (!word) return std::nullopt;
    if (auto address = net::Address::parse(*word)) return address;
    error("invalid " + std::string(what) + " " + quoted(*word) + " for " + quoted(name) +
          " (expected an IPv4 address like 127.0.0.1 or an IPv6 address like ::1)");
    return std::nullopt;
}

std::optional<std::uint16_t> Context::port(std::size_t index) const {
    const auto value = number(index, "PORT", 1, 65535);
    if (!value) return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

std::optional<std::string> Context::dns_name(std::size_t index, std::string_view what) const {
    const auto word = arg(index, what);
    if (!word) return std::nullopt;
    if (is_dns_name(*word)) return std::string(*word);
    error("invalid " + std::string(what) + " " + quoted(*word) + " for " + quoted(name) +
          " (expected a host name: letters, digits, '-', '_' and dots)");
    return std::nullopt;
}

std::optional<std::string> Context::simple_name(std::size_t index, std::string_view what) const {
    const auto word = arg(index, what);
    if (!word) return std::nullopt;
    if (is_simple_name(*word)) return std::string(*word);
    error("invalid " + std::string(what) + " " + quoted(*word) + " for " + quoted(name) +
          " (expected 1-63 letters, digits, '-', '_' or '.')");
    return std::nullopt;
}

bool Context::keyword(std::size_t index, std::string_view expected) const {
    const auto word = arg(index, quoted(expected));
    if (!word) return false;
    if (same_word(*word, expected)) return true;
    error("unexpected argument " + quoted(*word) + " for " + quoted(name) + " (expected " + quoted(expected) + ")");
    return false;
}

}  // namespace voxfork::config::detail

namespace voxfork::config {

ParseResult parse(std::string_view text, const std::string& path) {
    detail::ParseState state;
    state.path = path;
    detail::Walker walker(state);
    walker.run(detail::Lexer(text));
    if (!walker.stopped()) detail::check_references(state);
    detail::drop_explicit_defaults(state.config);
    std::stable_sort(state.errors.begin(), state.errors.end(),
                     [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });

    ParseResult result;
    if (state.errors.empty()) result.config = std::make_shared<const Config>(std::move(state.config));
    result.errors = std::move(state.errors);
    return result;
}

}  // namespace voxfork::config
