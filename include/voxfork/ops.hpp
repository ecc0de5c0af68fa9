// The operator's surface: the command registry behind the control socket,
// alarms and the event trace. Every part registers its show/clear commands
// here; ops never reaches into a part's internals.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxfork/config.hpp"

namespace voxfork::ops {

// What a command printed. `data` is what `| json` prints; when it is null the
// json filter prints {"lines": [...]} built from the text.
struct CommandOutput {
    std::string text;
    nlohmann::json data;
};

// Thrown by a handler for arguments it cannot accept; the client sees
// "% Invalid input detected" and the message.
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Thrown by a handler whose arguments are fine but name nothing that exists
// (a call without a fork): the client sees "% <message>" and nothing about
// invalid input, e.g. "% No fork for callid 58".
struct NotFound : CommandError {
    using CommandError::CommandError;
};

// The words that followed the registered command, e.g. {"60"} for
// `show voip stream-service connection id 60` registered as
// `show voip stream-service connection id`.
using CommandArgs = std::vector<std::string>;
using CommandHandler = std::function<CommandOutput(const CommandArgs&)>;

struct CommandResult {
    bool ok = true;
    std::string text;  // ends with a newline unless empty
};

class CommandRegistry {
public:
    // `words` is the command's fixed part ("show call active voice brief").
    // The longest registered prefix of a line's words picks the handler.
    // `max_args` bounds how many further words it takes (more are rejected).
    void add(std::string words, std::string help, std::size_t max_args, CommandHandler handler);

    // One-line help for a keyword that starts several commands ("show voip"),
    // listed by `?`; a keyword that ends a command shows that command's help.
    void describe(std::string words, std::string help);

    // Runs one command line, output filters (`| include`, `| exclude`,
    // `| section`/`| sec`, `| json`) included. Never throws.
    //
    // As on IOS, a command part ending in `?` asks what may follow instead:
    // `show ?` lists the words after `show`, `sh v?` the words that `v`
    // begins, each with its help (`| json` gives them as data, for Tab
    // completion). A word that fits nothing is rejected with the line and a
    // `^` under that word; an abbreviation that fits several words with
    // `% Ambiguous command: "LINE"`.
    CommandResult execute(std::string_view line) const;

    // "command — help" lines, for `help`.
    std::string help() const;

private:
    struct Entry {
        std::vector<std::string> words;
        std::string help;
        std::size_t max_args;
        CommandHandler handler;
    };
    struct Word {
        std::string text;
        std::size_t column;  // where it starts in the line
    };
    struct Resolution;
    static std::vector<Word> split_words(std::string_view text);
    Resolution resolve(const std::vector<Word>& words) const;
    CommandResult list_next_words(std::string_view command_part, std::string_view filter) const;
    std::string keyword_help(const std::vector<std::string>& path, const std::vector<const Entry*>& below) const;

    std::vector<Entry> entries_;
    std::map<std::vector<std::string>, std::string> keyword_help_;
};

// A counter's label as a `| json` key (and a metric name's part): lower-case
// words joined by single underscores, e.g. "Glare (491)" -> "glare_491",
// "re-INVITEs relayed" -> "re_invites_relayed".
std::string json_key(std::string_view label);

// Applies one output filter ("include REGEX", "json", ...) to a command's output.
// Throws CommandError for an unknown filter or a bad regular expression.
CommandOutput apply_filter(const CommandOutput& output, std::string_view filter);

// What a call's log lines name, so they join with other traces of the call
// (the SIP peers', the controller's, the speech server's): voxforkd's callid,
// the SIP Call-ID, and the controller's call-guid once a request gave one.
struct CallRef {
    std::uint64_t callid = 0;
    std::string_view sip_call_id;  // empty: not known
    std::string_view call_guid;    // empty: not known (yet)
};

// The fields a call's log line ends with: " : call-id X : call-guid Y", each
// only when known (docs/logs.md).
std::string call_fields(const CallRef& call);

// The event trace (voxforkd(8) LOGS, docs/logs.md), logged at info level:
//   FORK_ET: TYPE = GLOBAL : <text>
//   FORK_ET: TYPE = CALL : callid <id> : <text>[ : call-id <Call-ID>][ : call-guid <guid>]
// The original layout's fields come first and unchanged; the Call-ID and call-guid
// follow as trailing fields.
void trace_global(std::string_view text);
void trace_call(const CallRef& call, std::string_view text);

// Sends `%SIP-3-STREAM_SERVICE: <text>` to syslog (local7, error) and the log.
void raise_alarm(std::string_view text);

// A counter with the alarm rule of voxforkd(8) (LOGS): an alarm when its count
// reaches 1 and then every tenth (10, 20, ...), carrying that count, e.g.
// "%SIP-3-STREAM_SERVICE: 1 HTTP connection failures" for the label
// "HTTP connection failures". Used on the control-plane thread.
class AlarmedCounter {
public:
    explicit AlarmedCounter(std::string label) : label_(std::move(label)) {}
    void increment();
    std::uint64_t value() const { return count_; }
    void reset() { count_ = 0; }
    const std::string& label() const { return label_; }

private:
    std::string label_;
    std::uint64_t count_ = 0;
};

// Lines about one kind of event, at most `per_second` in any second: a
// flood of refused requests must not become a flood of log lines (disk, and
// the control-plane thread's time). The next line written says how many were
// left out; the counters count every one. Control-plane thread only.
class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;
    explicit LogThrottle(unsigned per_second) : per_second_(per_second) {}
    // True when this event's line may be written; then `left_out` is how many
    // lines were not written since the last one that was (0 mostly).
    bool allow(Clock::time_point now, std::uint64_t& left_out);
    // What a written line adds about those left out: "" or " (N similar
    // lines not logged)".
    static std::string note(std::uint64_t left_out);

private:
    unsigned per_second_;
    Clock::time_point second_start_{};
    unsigned written_ = 0;
    std::uint64_t left_out_ = 0;
};

// Logging: spdlog's default logger writes to stderr with `tag` (the hostname);
// alarms also go to syslog facility local7.
void setup_logging(const std::string& tag, config::LogLevel level);
void set_log_level(config::LogLevel level);
// A reloaded `hostname`: the tag of every following log line and alarm.
void set_log_tag(const std::string& tag);

}  // namespace voxfork::ops
