// The network side of speech-server: listener, TLS, upgrade and WebSocket
// sessions, which hand every message to the protocol served (protocol.hpp)
// and apply the fault modes (faults.hpp). The only translation unit that
// includes Beast.
#pragma once

#include "options.hpp"
#include "recorder.hpp"

namespace speech {

// Serves until SIGINT/SIGTERM, then completes every file and writes
// summary.json. Returns the process exit status.
int serve(const Options& options, Recorder& recorder);

}  // namespace speech
