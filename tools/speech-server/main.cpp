// speech-server: the reference speech server, in voxfork.v1, AudioHook v2 or raw
// audio (docs/speech-server.md).
#include <cstdio>
#include <exception>

#include "options.hpp"
#include "recorder.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
    speech::Options options = speech::parse_options(argc, argv);
    try {
        speech::Recorder recorder(options);
        return speech::serve(options, recorder);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "speech-server: %s\n", e.what());
        return 1;
    }
}
