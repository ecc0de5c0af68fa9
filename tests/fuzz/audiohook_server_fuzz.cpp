// What an AudioHook server may send (docs/stream.md "AudioHook"): opened,
// pong, closed, disconnect, pause, resume, updated, event, error and
// anything else, in any order and any shape, against a session that opens,
// pauses, resumes, updates and closes.
#include "audiohook/connection.hpp"
#include "speech_server.hpp"

using namespace voxfork;
using namespace voxfork::stream;
using audiohook::Connection;

namespace {

class RecordedEvents final : public audiohook::SessionEvents {
public:
    void on_opened(const audiohook::MediaChoice&) override { ++opened; }
    void on_open_failed(std::string_view reason) override {
        VOXFORK_FUZZ_CHECK(!reason.empty());
        ++failed;
    }
    void on_server_pause() override {}
    void on_server_resume() override {}
    void on_updated() override {}
    void on_disconnect(const std::string&) override {}
    int opened = 0, failed = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::CheckingOutput out;
    RecordedEvents events;
    Connection connection({"e2b7e3d0-8f4c-4c1e-9a7e-0d5f8a1b2c3d", "org", "conv", {"p", "1000", "Alice", "2000"},
                           nlohmann::json{{"language", "en-US"}}, 0, {}});  // no reconnect window
    connection.set_events(&events);
    connection.on_open(out);
    fuzz::SimulatedClock clock;
    fuzz::replay(connection, out, clock, fuzz::as_text(data, size), false, [&](unsigned command) {
        // The session's commands come once the server opened; a stop
        // (finish) may come at any time.
        if (events.opened == 0 && command % 5 != 4) return;
        switch (command % 5) {
            case 0: connection.start(clock.now(), Codec::ulaw); break;
            case 1: connection.pause(clock.now()); break;
            case 2: connection.resume(clock.now(), Codec::alaw); break;
            case 3: connection.update(clock.now(), "de-DE"); break;
            default: connection.finish(clock.now(), "end"); break;
        }
    });
    VOXFORK_FUZZ_CHECK(events.opened + events.failed <= 1);  // the open ends one way, once
    connection.on_closed();
    return 0;
}
