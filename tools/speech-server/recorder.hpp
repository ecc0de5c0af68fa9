// Everything the server writes to its output directory: events.jsonl (one JSON
// object per line), each channel's .wav/.raw pair and summary.json at exit.
// The checker decides what is right or wrong; the recorder only writes it down.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "channel_files.hpp"
#include "g711.hpp"
#include "options.hpp"

namespace speech {

// One channel as seen on one connection, from its START to the end of the run.
struct ChannelRecord {
    std::uint64_t conn = 0;
    std::uint32_t channel = 0;
    std::string leg, call_guid, call_id;
    Codec codec = Codec::pcmu;
    bool paused = false;
    bool stopped = false;            // STOP received from the client
    bool stopped_by_server = false;  // the server sent STOP for it
    std::string stop_reason;
    bool has_frames = false;
    std::uint32_t next_seq = 0;
    std::uint32_t last_position = 0;
    std::uint32_t last_length = 0;
    std::uint64_t wav_shift = 0;  // samples of over-long gaps left out of the WAV
    std::uint64_t wav_gap = 0;    // samples of silence put in the WAV for pauses (AudioHook's discarded)
    std::uint64_t frames = 0, bytes = 0, dropped = 0, position_steps = 0, late_frames = 0, violations = 0, dtmf = 0;
    // Continued from a channel record of an earlier connection (a START with
    // "resumed": true): frames whose seq it had are repeats, dropped.
    std::uint64_t resumed_from = 0;
    std::uint64_t repeated = 0;
    std::string wav_name, raw_name;
    std::unique_ptr<ChannelFiles> files;  // reset when the channel ends
};

class Recorder {
public:
    explicit Recorder(const Options& options);
    ~Recorder();

    const Options& options() const { return options_; }
    std::uint64_t next_connection_id() { return ++connections_; }

    // Writes one line: `fields` plus "time" (Unix seconds). Flushed at once.
    void event(nlohmann::json fields);
    // The per-frame line, built without a JSON object; flushed by flush().
    void frame_event(std::uint64_t conn, std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                     std::size_t length);
    // {"event":"violation","conn":N,"channel":C,"violation":KIND,"detail":...}; also to stderr.
    void violation(std::uint64_t conn, std::optional<std::uint32_t> channel, std::string_view kind,
                   const std::string& detail, nlohmann::json extra = nlohmann::json::object());

    // "conn<N>-ch<C>-<leg>": the name of a channel's .wav and .raw without suffix.
    static std::string file_base(std::uint64_t conn, std::uint32_t channel, const std::string& leg);
    // A new channel on `conn`; opens its files and writes a `channel` event
    // naming them.
    ChannelRecord& open_channel(std::uint64_t conn, std::uint32_t channel, const std::string& leg);
    // Whether any connection has started this channel id.
    bool channel_seen(std::uint32_t channel) const { return seen_channels_.count(channel) > 0; }
    // The channel's record on the latest connection before `conn` that started it.
    ChannelRecord* earlier_record(std::uint32_t channel, std::uint64_t conn);
    void write_audio(ChannelRecord& ch, std::uint64_t at, const std::uint8_t* payload, std::size_t n);
    // Audio of a protocol whose frames carry no seq or position (AudioHook,
    // raw): frame line and files as if seq counted the channel's frames and
    // position its samples (plus wav_gap), so it lands right after the
    // channel's last audio and any pause.
    void append_audio(ChannelRecord& ch, const std::uint8_t* payload, std::size_t n);
    // Completes the channel's files (STOP, connection close, exit).
    void end_channel(ChannelRecord& ch);

    // Periodic: pushes buffered frame lines and WAV headers to disk.
    void flush();
    // Ends every channel, writes summary.json; returns the summary.
    nlohmann::json finish();
    void echo(const std::string& line);  // to stderr unless --quiet

private:
    const Options& options_;
    std::FILE* events_ = nullptr;
    std::uint64_t connections_ = 0;
    std::uint64_t violations_ = 0;
    std::map<std::string, std::uint64_t> violations_by_kind_;
    std::set<std::uint32_t> seen_channels_;
    std::map<std::pair<std::uint64_t, std::uint32_t>, ChannelRecord> channels_;
};

}  // namespace speech
