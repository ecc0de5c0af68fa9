// What a raw speech server may send (docs/stream.md "raw"): text messages,
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
    const auto replayed = fuzz::replay(connection, out, clock, fuzz::as_text(data, size), true, [&](unsigned command) {
        if (command % 2) connection.pause(clock.now());
        else connection.resume(clock.now(), Codec::alaw);
    });
    VOXFORK_FUZZ_CHECK(connection.server_texts() == replayed.texts);
    VOXFORK_FUZZ_CHECK(connection.server_binaries() == replayed.binaries);
    connection.finish(clock.now(), "{\"type\":\"stop\"}");
    connection.on_closed();
    return 0;
}
