// What a voxfork.v1 speech server may send (docs/speech-server-protocol.md): text messages (a STOP
// for a channel, anything else ignored), binary messages (a protocol error),
// read by a connection that carries two calls.
#include "speech_server.hpp"
#include "voxfork_v1/connection.hpp"

using namespace voxfork;
using namespace voxfork::stream;
using voxfork_v1::Connection;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::CheckingOutput out;
    Connection connection(64, 0);  // no reconnect window: the fuzzer drops no connection
    connection.on_open(out);
    const CallInfo call{};
    int ended = 0;
    const std::uint32_t first[2] = {1, 2}, second[2] = {3, 4};
    connection.add_call(1, first, [&](const std::string&) { ++ended; });
    connection.add_call(2, second, [&](const std::string&) { ++ended; });
    for (std::uint32_t channel : {1u, 2u, 3u, 4u})
        connection.send(channel, Connection::Gate::open,
                        voxfork_v1::start(channel, call, channel % 2 ? "caller" : "callee", Codec::ulaw, nlohmann::json::object()));
    fuzz::SimulatedClock clock;
    fuzz::replay(connection, out, clock, fuzz::as_text(data, size), false, [&](unsigned command) {
        // Our side: pause, resume or stop a channel, or a call leaves.
        const std::uint32_t channel = 1 + command % 4;
        switch (command / 4 % 4) {
            case 0: connection.send(channel, Connection::Gate::close, voxfork_v1::pause(channel, "hold")); break;
            case 1: connection.send(channel, Connection::Gate::open, voxfork_v1::resume(channel, Codec::alaw)); break;
            case 2: connection.send(channel, Connection::Gate::stop, voxfork_v1::stop(channel, "bye")); break;
            default: connection.remove_call(channel <= 2 ? 1 : 2); break;
        }
    });
    VOXFORK_FUZZ_CHECK(ended <= 2);  // each call is told once at most
    connection.on_closed();
    return 0;
}
