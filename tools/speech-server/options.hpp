// Command-line options of speech-server. Parsing lives apart from the server so
// the flags and their help text are read in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace speech {

// A fault fires on a connection once that many audio frames were received on it.
// Unset means the fault is off.
using FrameCount = std::optional<std::uint64_t>;

// The wire protocol served (--protocol, docs/speech-server.md), one per server.
enum class ProtocolName { voxfork_v1, audiohook, raw };

struct Options {
    std::string listen_addr = "127.0.0.1";
    std::uint16_t listen_port = 8000;
    std::string out_dir = "speech-out";

    // TLS (wss) when both are set.
    std::string cert_file;
    std::string key_file;
    std::string tls_min = "1.2";
    std::string tls_max = "1.3";
    std::string ciphers;  // TLS 1.2 cipher list, OpenSSL names

    ProtocolName protocol = ProtocolName::voxfork_v1;
    // The required token: `Authorization: <auth_scheme> T` (voxfork-v1, raw),
    // `X-API-KEY: T` (audiohook).
    std::optional<std::string> token;
    std::string auth_scheme = "Bearer";  // raw only; voxfork-v1 is always Bearer
    // AudioHook: the client secret (base64) the upgrade's HTTP message signature
    // must verify with; unset, the upgrade need not be signed.
    std::optional<std::string> audiohook_secret;
    // AudioHook: the media `opened` chooses: "first" (the first offer), "both",
    // "external", "internal" (the offer with those channels), "none" (empty).
    std::string audiohook_media = "first";
    std::string raw_codec = "PCMU";   // raw: how the .wav decodes the bytes
    std::uint64_t reply_every = 0;    // raw: a transcript text every N frames (0 = none)
    int rcvbuf = 0;                    // SO_RCVBUF for accepted sockets, 0 = default

    // Faults on the upgrade.
    int refuse_upgrade = 0;  // HTTP status, 0 = off
    bool garbage_response = false;
    bool bad_accept = false;
    bool no_subprotocol = false;
    bool hang_upgrade = false;
    int upgrade_delay_ms = 0;
    bool black_hole = false;  // accept TCP, never read a byte (not even the upgrade)

    // Faults after N audio frames on a connection.
    FrameCount close_after;
    int close_code = 1000;
    std::string close_reason = "closed by server";
    FrameCount reset_after;
    FrameCount stop_reading_after;
    FrameCount stop_channel_after;
    std::string stop_reason = "Stopped by server";
    FrameCount send_binary_after;
    FrameCount send_text_after;
    // A restart: every connection reset (RST) and the port closed (connections
    // refused) for restart_seconds, then the same port listened on again.
    FrameCount restart_after;
    // AudioHook: the server's `pause` after N frames, its `resume` this much later.
    FrameCount server_pause_after;
    double server_pause_seconds = 0.5;
    double restart_seconds = 2.0;
    // The same restart on the clock, every this many seconds (0: never).
    double restart_every = 0;
    std::string send_text = R"({"type":"HELLO"})";
    std::optional<std::uint64_t> fault_limit;  // faults fire on at most this many connections

    // Output.
    bool frame_events = true;  // one events.jsonl line per audio frame
    bool audio_files = true;   // per-channel .wav/.raw (a long benchmark's audio fills a disk)
    bool summary = false;      // print summary.json to stdout on exit
    bool quiet = false;        // no echo of events to stderr
    std::uint32_t max_gap_seconds = 3600;
};

// Parses argv; on --help prints usage and exits 0, on an error prints it and exits 2.
Options parse_options(int argc, char** argv);

}  // namespace speech
