#include "recorder.hpp"

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace speech {
namespace {

double now_seconds() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

double cpu_seconds(const timeval& tv) {
    return tv.tv_sec + tv.tv_usec / 1e6;
}

}  // namespace

Recorder::Recorder(const Options& options) : options_(options) {
    std::filesystem::create_directories(options_.out_dir);
    auto path = std::filesystem::path(options_.out_dir) / "events.jsonl";
    events_ = std::fopen(path.c_str(), "w");
    if (!events_) throw std::runtime_error("cannot write " + path.string());
    std::setvbuf(events_, nullptr, _IOFBF, 1 << 16);
}

Recorder::~Recorder() {
    if (events_) std::fclose(events_);
}

void Recorder::echo(const std::string& line) {
    if (!options_.quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

void Recorder::event(nlohmann::json fields) {
    fields["time"] = now_seconds();
    // Invalid UTF-8 from a client must not stop the log: replace it.
    auto line = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(events_, "%s\n", line.c_str());
    std::fflush(events_);
}

void Recorder::frame_event(std::uint64_t conn, std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
                           std::size_t length) {
    if (!options_.frame_events) return;
    std::fprintf(events_,
                 "{\"event\":\"frame\",\"conn\":%llu,\"channel\":%u,\"seq\":%u,\"position\":%u,\"length\":%zu,"
                 "\"time\":%.6f}\n",
                 static_cast<unsigned long long>(conn), channel, seq, position, length, now_seconds());
}

void Recorder::violation(std::uint64_t conn, std::optional<std::uint32_t> channel, std::string_view kind,
                         const std::string& detail, nlohmann::json extra) {
    ++violations_;
    ++violations_by_kind_[std::string(kind)];
    extra["event"] = "violation";
    extra["conn"] = conn;
    if (channel) {
        extra["channel"] = *channel;
        auto it = channels_.find({conn, *channel});
        if (it != channels_.end()) ++it->second.violations;
    }
    extra["violation"] = kind;
    extra["detail"] = detail;
    echo(extra.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    event(std::move(extra));
}

std::string Recorder::file_base(std::uint64_t conn, std::uint32_t channel, const std::string& leg) {
    return "conn" + std::to_string(conn) + "-ch" + std::to_string(channel) + "-" + leg;
}

ChannelRecord& Recorder::open_channel(std::uint64_t conn, std::uint32_t channel, const std::string& leg) {
    seen_channels_.insert(channel);
    auto& ch = channels_[{conn, channel}];
    ch.conn = conn;
    ch.channel = channel;
    ch.leg = leg;
    std::string base = file_base(conn, channel, leg);
    ch.wav_name = base + ".wav";
    ch.raw_name = base + ".raw";
    auto dir = std::filesystem::path(options_.out_dir);
    if (options_.audio_files) ch.files = std::make_unique<ChannelFiles>(dir / ch.wav_name, dir / ch.raw_name);
    event({{"event", "channel"},
           {"conn", conn},
           {"channel", channel},
           {"leg", leg},
           {"wav", ch.wav_name},
           {"raw", ch.raw_name}});
    return ch;
}

ChannelRecord* Recorder::earlier_record(std::uint32_t channel, std::uint64_t conn) {
    ChannelRecord* found = nullptr;
    for (auto& [key, ch] : channels_)
        if (key.second == channel && key.first < conn) found = &ch;  // keys ascend by connection
    return found;
}

void Recorder::write_audio(ChannelRecord& ch, std::uint64_t at, const std::uint8_t* payload, std::size_t n) {
    if (ch.files) ch.files->write(ch.codec, at, payload, n);
}

void Recorder::append_audio(ChannelRecord& ch, const std::uint8_t* payload, std::size_t n) {
    const auto at = static_cast<std::uint32_t>(ch.bytes + ch.wav_gap);
    frame_event(ch.conn, ch.channel, static_cast<std::uint32_t>(ch.frames), at, n);
    write_audio(ch, at, payload, n);
    ch.has_frames = true;
    ch.next_seq = static_cast<std::uint32_t>(ch.frames + 1);
    ch.last_position = at;
    ch.last_length = static_cast<std::uint32_t>(n);
    ++ch.frames;
    ch.bytes += n;
}

void Recorder::end_channel(ChannelRecord& ch) {
    ch.files.reset();
}

void Recorder::flush() {
    std::fflush(events_);
    for (auto& [key, ch] : channels_)
        if (ch.files) ch.files->sync();
}

nlohmann::json Recorder::finish() {
    for (auto& [key, ch] : channels_) end_channel(ch);
    nlohmann::json channels = nlohmann::json::array();
    std::uint64_t frames = 0, bytes = 0;
    for (const auto& [key, ch] : channels_) {
        frames += ch.frames;
        bytes += ch.bytes;
        channels.push_back({{"conn", ch.conn},
                            {"channel", ch.channel},
                            {"leg", ch.leg},
                            {"call-guid", ch.call_guid},
                            {"codec", ch.codec == Codec::pcmu ? "PCMU" : "PCMA"},
                            {"frames", ch.frames},
                            {"bytes", ch.bytes},
                            {"dropped", ch.dropped},
                            {"position_steps", ch.position_steps},
                            {"late_frames", ch.late_frames},
                            {"resumed_from", ch.resumed_from},
                            {"repeated", ch.repeated},
                            {"dtmf", ch.dtmf},
                            {"violations", ch.violations},
                            {"stopped", ch.stopped},
                            {"stop_reason", ch.stop_reason},
                            {"wav", ch.wav_name},
                            {"raw", ch.raw_name}});
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    nlohmann::json summary = {{"connections", connections_},
                              {"frames", frames},
                              {"bytes", bytes},
                              {"violations", violations_},
                              {"violations_by_kind", violations_by_kind_},
                              {"cpu_user_s", cpu_seconds(ru.ru_utime)},
                              {"cpu_system_s", cpu_seconds(ru.ru_stime)},
                              {"channels", channels}};
    auto path = std::filesystem::path(options_.out_dir) / "summary.json";
    if (std::FILE* f = std::fopen(path.c_str(), "w")) {
        auto text = summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
        std::fprintf(f, "%s\n", text.c_str());
        std::fclose(f);
    }
    event({{"event", "exit"}, {"violations", violations_}, {"frames", frames}});
    return summary;
}

}  // namespace speech
