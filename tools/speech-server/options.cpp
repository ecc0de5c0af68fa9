#include "options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace speech {
namespace {

struct Flag {
    const char* name;
    const char* arg;  // nullptr: the flag takes no value
    const char* help;
    std::function<void(Options&, std::string_view)> set;
};

template <typename T>
T number(std::string_view s, T lo, T hi) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi)
        throw std::invalid_argument("bad number '" + std::string(s) + "'");
    return v;
}

std::uint64_t count(std::string_view s) {
    return number<std::uint64_t>(s, 0, UINT64_MAX);
}

std::string tls_version(std::string_view s) {
    if (s != "1.2" && s != "1.3") throw std::invalid_argument("TLS version must be 1.2 or 1.3");
    return std::string(s);
}

const std::vector<Flag>& flags() {
    static const std::vector<Flag> table = {
        {"--listen", "ADDR:PORT",
         "address to listen on, an IPv6 one in brackets ([::1]:8000) (default 127.0.0.1:8000; port 0 picks one)",
         [](Options& o, std::string_view v) {
             auto colon = v.rfind(':');
             if (colon == std::string_view::npos) throw std::invalid_argument("--listen needs ADDR:PORT");
             std::string_view addr = v.substr(0, colon);
             if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
             o.listen_addr = std::string(addr);
             o.listen_port = number<std::uint16_t>(v.substr(colon + 1), 0, 65535);
         }},
        {"--out", "DIR", "output directory: events.jsonl, per-channel .wav/.raw, summary.json (default ./speech-out)",
         [](Options& o, std::string_view v) { o.out_dir = v; }},
        {"--cert", "FILE", "PEM certificate (chain): serve wss instead of ws (needs --key)",
         [](Options& o, std::string_view v) { o.cert_file = v; }},
        {"--key", "FILE", "PEM private key of --cert", [](Options& o, std::string_view v) { o.key_file = v; }},
        {"--tls-min", "1.2|1.3", "lowest TLS version accepted (default 1.2)",
         [](Options& o, std::string_view v) { o.tls_min = tls_version(v); }},
        {"--tls-max", "1.2|1.3", "highest TLS version accepted (default 1.3)",
         [](Options& o, std::string_view v) { o.tls_max = tls_version(v); }},
        {"--ciphers", "LIST", "TLS 1.2 cipher list (OpenSSL names, ':'-separated)",
         [](Options& o, std::string_view v) { o.ciphers = v; }},
        {"--protocol", "voxfork-v1|audiohook|raw", "the wire protocol served (default voxfork-v1)",
         [](Options& o, std::string_view v) {
             if (v == "voxfork-v1")
                 o.protocol = ProtocolName::voxfork_v1;
             else if (v == "audiohook")
                 o.protocol = ProtocolName::audiohook;
             else if (v == "raw")
                 o.protocol = ProtocolName::raw;
             else
                 throw std::invalid_argument("must be voxfork-v1, audiohook or raw");
         }},
        {"--token", "T",
         "require 'Authorization: Bearer T' (raw: --auth-scheme; audiohook: 'X-API-KEY: T') on the upgrade, "
         "else answer 401",
         [](Options& o, std::string_view v) { o.token = std::string(v); }},
        {"--auth-scheme", "WORD", "raw: the scheme of --token's Authorization header (default Bearer)",
         [](Options& o, std::string_view v) {
             if (v.empty() || v.find(' ') != std::string_view::npos)
                 throw std::invalid_argument("one word");
             o.auth_scheme = v;
         }},
        {"--audiohook-secret", "BASE64",
         "audiohook: require an HTTP message signature on the upgrade made with this client secret, else 401",
         [](Options& o, std::string_view v) {
             if (v.empty()) throw std::invalid_argument("empty secret");
             o.audiohook_secret = std::string(v);
         }},
        {"--audiohook-media", "first|both|external|internal|none",
         "audiohook: the media 'opened' chooses among the client's offers (default first; none = empty media)",
         [](Options& o, std::string_view v) {
             if (v != "first" && v != "both" && v != "external" && v != "internal" && v != "none")
                 throw std::invalid_argument("must be first, both, external, internal or none");
             o.audiohook_media = v;
         }},
        {"--raw-codec", "PCMU|PCMA", "raw: the law the .wav files decode the audio with (default PCMU)",
         [](Options& o, std::string_view v) {
             if (v != "PCMU" && v != "PCMA") throw std::invalid_argument("must be PCMU or PCMA");
             o.raw_codec = v;
         }},
        {"--reply-every-frames", "N", "raw: send {\"transcript\":\"frame K\"} after every N audio frames",
         [](Options& o, std::string_view v) { o.reply_every = number<std::uint64_t>(v, 1, UINT64_MAX); }},
        {"--rcvbuf", "BYTES", "SO_RCVBUF of accepted sockets (small values make a slow server fill up sooner)",
         [](Options& o, std::string_view v) { o.rcvbuf = number<int>(v, 1, 1 << 30); }},
        {"--refuse-upgrade", "STATUS", "answer every upgrade with this HTTP status (e.g. 401, 403, 500, 200)",
         [](Options& o, std::string_view v) { o.refuse_upgrade = number<int>(v, 100, 599); }},
        {"--garbage-response", nullptr, "answer the upgrade with bytes that are not HTTP, then close",
         [](Options& o, std::string_view) { o.garbage_response = true; }},
        {"--bad-accept", nullptr, "answer 101 with a wrong Sec-WebSocket-Accept",
         [](Options& o, std::string_view) { o.bad_accept = true; }},
        {"--no-subprotocol", nullptr, "accept the upgrade without echoing Sec-WebSocket-Protocol",
         [](Options& o, std::string_view) { o.no_subprotocol = true; }},
        {"--hang-upgrade", nullptr, "read the upgrade request and never answer it",
         [](Options& o, std::string_view) { o.hang_upgrade = true; }},
        {"--upgrade-delay", "MS", "wait this long before answering the upgrade",
         [](Options& o, std::string_view v) { o.upgrade_delay_ms = number<int>(v, 0, 3600000); }},
        {"--black-hole", nullptr, "accept the TCP connection and never read from it (no upgrade answer)",
         [](Options& o, std::string_view) { o.black_hole = true; }},
        {"--restart-after-frames", "N",
         "after N audio frames act as a restart: reset every connection, refuse connections for "
         "--restart-seconds, then listen on the same port again",
         [](Options& o, std::string_view v) { o.restart_after = count(v); }},
        {"--restart-seconds", "S", "how long --restart-after-frames keeps the port closed (default 2, may be 0.5)",
         [](Options& o, std::string_view v) {
             const double s = std::stod(std::string(v));
             if (!(s >= 0 && s <= 3600)) throw std::invalid_argument("--restart-seconds must be 0-3600");
             o.restart_seconds = s;
         }},
        {"--restart-every", "S",
         "act as a restart (as --restart-after-frames) every S seconds, from the start, until the server exits",
         [](Options& o, std::string_view v) {
             const double s = std::stod(std::string(v));
             if (!(s >= 1 && s <= 86400)) throw std::invalid_argument("--restart-every must be 1-86400");
             o.restart_every = s;
         }},
        {"--pause-after-frames", "N",
         "audiohook: after N audio frames send the server's 'pause', then 'resume' --pause-seconds later",
         [](Options& o, std::string_view v) { o.server_pause_after = count(v); }},
        {"--pause-seconds", "S", "how long --pause-after-frames pauses (default 0.5)",
         [](Options& o, std::string_view v) {
             const double s = std::stod(std::string(v));
             if (!(s >= 0 && s <= 3600)) throw std::invalid_argument("--pause-seconds must be 0-3600");
             o.server_pause_seconds = s;
         }},
        {"--close-after-frames", "N", "send a close frame (--close-code, --close-reason) after N audio frames",
         [](Options& o, std::string_view v) { o.close_after = count(v); }},
        {"--close-code", "CODE", "close code for --close-after-frames (default 1000)",
         [](Options& o, std::string_view v) { o.close_code = number<int>(v, 1000, 4999); }},
        {"--close-reason", "TEXT", "close reason for --close-after-frames (default 'closed by server')",
         [](Options& o, std::string_view v) { o.close_reason = v; }},
        {"--reset-after-frames", "N", "after N audio frames reset the TCP connection (RST, no close frame)",
         [](Options& o, std::string_view v) { o.reset_after = count(v); }},
        {"--stop-reading-after-frames", "N", "after N audio frames stop reading the socket (slow consumer)",
         [](Options& o, std::string_view v) { o.stop_reading_after = count(v); }},
        {"--stop-channel-after-frames", "N",
         "after N audio frames send {\"type\":\"STOP\",\"channel\":C,\"reason\":R} for the Nth frame's channel",
         [](Options& o, std::string_view v) { o.stop_channel_after = number<std::uint64_t>(v, 1, UINT64_MAX); }},
        {"--stop-reason", "TEXT", "reason of that STOP (default 'Stopped by server')",
         [](Options& o, std::string_view v) { o.stop_reason = v; }},
        {"--send-binary-after-frames", "N", "after N audio frames send a binary frame (0 = right after the upgrade)",
         [](Options& o, std::string_view v) { o.send_binary_after = count(v); }},
        {"--send-text-after-frames", "N", "after N audio frames send the text of --send-text (0 = after the upgrade)",
         [](Options& o, std::string_view v) { o.send_text_after = count(v); }},
        {"--send-text", "TEXT", "text frame for --send-text-after-frames (default {\"type\":\"HELLO\"})",
         [](Options& o, std::string_view v) { o.send_text = v; }},
        {"--fault-limit", "K", "upgrade and frame faults hit only the first K connections (default: all)",
         [](Options& o, std::string_view v) { o.fault_limit = count(v); }},
        {"--no-frame-events", nullptr, "do not write one events.jsonl line per audio frame (benchmarks)",
         [](Options& o, std::string_view) { o.frame_events = false; }},
        {"--no-audio-files", nullptr,
         "check and count the audio but write no .wav/.raw files (long benchmarks: 1,000 calls write ~3 GB a minute)",
         [](Options& o, std::string_view) { o.audio_files = false; }},
        {"--max-gap", "SECONDS", "position steps longer than this are violations, not silence (default 3600)",
         [](Options& o, std::string_view v) { o.max_gap_seconds = number<std::uint32_t>(v, 1, 86400 * 7); }},
        {"--summary", nullptr, "print summary.json to stdout on exit",
         [](Options& o, std::string_view) { o.summary = true; }},
        {"--quiet", nullptr, "do not echo connections and violations to stderr",
         [](Options& o, std::string_view) { o.quiet = true; }},
    };
    return table;
}

[[noreturn]] void usage(int code) {
    std::FILE* f = code == 0 ? stdout : stderr;
    std::fprintf(f,
                 "usage: speech-server [options]\n"
                 "Reference speech server (voxfork.v1, AudioHook v2, raw audio): records and checks what a\n"
                 "client sends.\n\n");
    for (const auto& flag : flags()) {
        std::string left = std::string(flag.name) + (flag.arg ? std::string(" ") + flag.arg : "");
        std::fprintf(f, "  %-32s %s\n", left.c_str(), flag.help);
    }
    std::fprintf(f, "  %-32s %s\n", "--help", "this text");
    std::exit(code);
}

}  // namespace

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") usage(0);
        const Flag* found = nullptr;
        for (const auto& flag : flags())
            if (arg == flag.name) found = &flag;
        if (!found) {
            std::fprintf(stderr, "speech-server: unknown option %s\n", argv[i]);
            usage(2);
        }
        std::string_view value;
        if (found->arg) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "speech-server: %s needs %s\n", found->name, found->arg);
                std::exit(2);
            }
            value = argv[++i];
        }
        try {
            found->set(o, value);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "speech-server: %s: %s\n", found->name, e.what());
            std::exit(2);
        }
    }
    if (o.cert_file.empty() != o.key_file.empty()) {
        std::fprintf(stderr, "speech-server: --cert and --key go together\n");
        std::exit(2);
    }
    if (o.tls_min > o.tls_max) {
        std::fprintf(stderr, "speech-server: --tls-min is above --tls-max\n");
        std::exit(2);
    }
    return o;
}

}  // namespace speech
