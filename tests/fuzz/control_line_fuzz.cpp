// One line an operator sends on the control socket (voxfork/ops.hpp): the
// command, `?` help and the output filters (`| include REGEX`, `| exclude`,
// `| section`, `| json`), run against a registry shaped like the daemon's.
#include "check.hpp"
#include "voxfork/control_socket.hpp"
#include "voxfork/ops.hpp"

using namespace voxfork;

namespace {

// Output like the daemon's show commands: headings, indented sections,
// blank lines, numbers and addresses for the filters to match.
const char* const sample_output =
    "Stream service statistics\n"
    "  Connections opened: 12\n"
    "  Connection failures: 3\n"
    "\n"
    "Server 127.0.0.1:9000 secure no\n"
    "  Session 5 callid 58 state STARTED codec g711ulaw\n"
    "  Session 6 callid 59 state PAUSED codec g711alaw\n"
    "voice-class stream-service 1\n"
    " url ws://speech.example:9000/stream\n"
    " calls-threshold 20\n";

ops::CommandRegistry make_registry() {
    ops::CommandRegistry registry;
    const auto text = [](const ops::CommandArgs&) { return ops::CommandOutput{sample_output, nullptr}; };
    const auto with_data = [](const ops::CommandArgs& args) {
        return ops::CommandOutput{sample_output, {{"args", args}, {"calls", {1, 2}}}};
    };
    registry.describe("show", "Show running system information");
    registry.describe("show voip", "VoIP information");
    registry.add("show voip stream-service statistics", "Counters", 0, text);
    registry.add("show voip stream-service connection", "Connections", 0, with_data);
    registry.add("show voip stream-service connection id", "One connection", 1, [](const ops::CommandArgs& args) {
        if (args.empty() || args[0].find_first_not_of("0123456789") != std::string::npos)
            throw ops::CommandError("an id is a number");
        if (args[0] != "60") throw ops::NotFound("No connection " + args[0]);
        return ops::CommandOutput{sample_output, nullptr};
    });
    registry.add("show running-config", "The configuration", 0, text);
    registry.add("show call active voice brief", "Calls", 0, with_data);
    registry.add("clear voip stream-service statistics", "Reset counters", 0, text);
    registry.add("debug", "Log level", 1, text);
    return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The socket hands over at most a line of max_line_bytes, without its newline.
    if (size > ops::ControlSocket::max_line_bytes) return 0;
    static const ops::CommandRegistry registry = make_registry();
    const auto result = registry.execute(fuzz::as_text(data, size));
    VOXFORK_FUZZ_CHECK(result.text.empty() || result.text.back() == '\n');
    return 0;
}
