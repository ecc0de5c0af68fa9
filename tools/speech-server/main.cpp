// speech-server: the reference voxfork.v1 speech server (docs/speech-server.md).
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
