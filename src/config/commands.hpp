// The command framework: the modes of the file, what a parse builds, and the
// context every command handler gets. The command tables live in
// commands_global.cpp (global, voip, trusted list, sip) and
// commands_blocks.cpp (stream-service profile, media class, trustpoint,
// dial-peer); parser.cpp walks the lines and dispatches.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lexer.hpp"
#include "values.hpp"
#include "voxfork/config.hpp"

namespace voxfork::config::detail {

enum class Mode { global, voip, trusted, sip, profile, media_class, trustpoint, dial_peer };

struct ParseState {
    Config config;
    std::vector<ConfigError> errors;
    std::string path;

    // What the open sub-modes edit. After an opener with a bad argument they
    // point at scratch objects, so the lines under it are still checked.
    StreamServiceProfile* profile = nullptr;
    MediaClass* media_class = nullptr;
    Trustpoint* trustpoint = nullptr;
    DialPeer* dial_peer = nullptr;
    StreamServiceProfile scratch_profile;
    MediaClass scratch_class;
    Trustpoint scratch_trustpoint;
    DialPeer scratch_dial_peer;

    // Where cross-references were made; checked once the whole file is read,
    // so a reference may come before the thing it names.
    std::map<std::uint32_t, int> class_profile_lines;  // media class tag -> line of `stream-service profile`
    std::map<std::uint32_t, int> peer_class_lines;     // dial-peer tag -> line of `media-class`
    int secure_trustpoint_line = 0;                    // line of `http client secure-trustpoint`

    std::optional<Mode> opened;  // set by a handler whose command opens a sub-mode
};

class Context;
using Handler = void (*)(const Context&);

struct CommandSpec {
    Mode mode;
    std::string_view words;  // the keywords, e.g. "media profile stream-service"
    Handler set;
    Handler unset;  // the `no` form; nullptr when there is none
};

std::span<const CommandSpec> global_commands();
std::span<const CommandSpec> block_commands();

// Resets values spelled out as what their default is anyway (a media address
// equal to the control address, all six cipher suites) to the default, so
// that the parser stores one form and `show running-config` omits them.
void drop_explicit_defaults(Config& c);

// One command line being applied. The argument helpers report their own
// error (naming the command) and return nullopt/false, so a handler reads
// every argument first and changes the configuration only when all are good.
class Context {
public:
    Context(ParseState& state, const Line& line, std::string_view name, std::size_t keyword_count);

    ParseState& state;
    Config& config;
    const Line& line;
    std::string_view name;                   // the command's keywords
    std::span<const std::string_view> args;  // the words after the keywords
    std::size_t first_arg;                   // index of args[0] in line.words

    void error(std::string message) const;
    void open(Mode mode) const { state.opened = mode; }

    bool at_most(std::size_t count) const;
    bool exactly(std::size_t count, std::string_view what) const;
    std::optional<std::string_view> arg(std::size_t index, std::string_view what) const;
    // The rest of the line from argument `index` (text that may hold blanks).
    std::optional<std::string> text(std::size_t index, std::string_view what) const;
    std::optional<std::int64_t> number(std::size_t index, std::string_view what, std::int64_t lo,
                                       std::int64_t hi) const;
    std::optional<std::uint32_t> ipv4(std::size_t index, std::string_view what) const;
    // An address of either family, bare (no brackets).
    std::optional<net::Address> ip_address(std::size_t index, std::string_view what) const;
    std::optional<std::uint16_t> port(std::size_t index) const;
    std::optional<std::string> dns_name(std::size_t index, std::string_view what) const;
    std::optional<std::string> simple_name(std::size_t index, std::string_view what) const;
    // `word` must equal `expected` (a fixed keyword after a value).
    bool keyword(std::size_t index, std::string_view expected) const;

    template <typename Enum, std::size_t N>
    std::optional<Enum> choice(std::size_t index, std::string_view what,
                               const std::array<std::pair<Enum, std::string_view>, N>& table) const {
        const auto word = arg(index, what);
        if (!word) return std::nullopt;
        if (auto value = from_name(table, *word)) return value;
        error("unknown " + std::string(what) + " \"" + std::string(*word) + "\" for \"" + std::string(name) +
              "\" (expected " + choices(table) + ")");
        return std::nullopt;
    }
};

}  // namespace voxfork::config::detail
