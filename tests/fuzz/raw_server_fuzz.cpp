// What a raw speech server may send (protocols.md "raw"): text messages,
// counted and the latest kept; binary messages, counted and ignored.
#include "raw/connection.hpp"
#include "speech_server.hpp"

using namespace voxfork;
using namespace voxfork::stream;
using raw::Connection;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::CheckingOutput out;
    out.json_only = false;
    Connection connection({true, media::Direction::caller, "{\"type\":\"keepalive\"}", 0});  // no reconnect window
    connection.on_open(out);
    fuzz::SimulatedClock clock;
    connection.start(clock.now(), Codec::ulaw);
    std::uint64_t texts = 0, binaries = 0;
    for (std::string_view message : fuzz::messages(fuzz::as_text(data, size))) {
        const fuzz::Step step = fuzz::step_of(message);
        switch (step.kind) {
            case fuzz::Step::Kind::text:
                connection.on_text(step.text);
                ++texts;
                break;
            case fuzz::Step::Kind::binary:
                VOXFORK_FUZZ_CHECK(connection.on_binary(fuzz::as_bytes(step.text)));
                ++binaries;
                break;
            case fuzz::Step::Kind::wait:
                connection.on_tick(clock.advance(step.value));
                break;
            case fuzz::Step::Kind::command:
                if (step.value % 2) connection.pause(clock.now());
                else connection.resume(clock.now(), Codec::alaw);
                break;
        }
        connection.drain(out);
    }
    VOXFORK_FUZZ_CHECK(connection.server_texts() == texts);
    VOXFORK_FUZZ_CHECK(connection.server_binaries() == binaries);
    connection.finish(clock.now(), "{\"type\":\"stop\"}");
    connection.on_closed();
    return 0;
}
