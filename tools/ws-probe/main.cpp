// ws-probe: drives the real stream layer and WebSocket pool from the command
// line and prints what happened as JSON lines on stdout (the log goes to
// stderr). Integration tests use it to exercise them apart from SIP and the
// fork part.
//
//   ws-probe --config FILE --host H --port P [--secure] [--path /p] [--token T]
//            [--profile TAG] [--calls N] [--frames N] [--interval-ms MS]
//            [--keep] [--linger-ms MS] [--interactive] [--time-scale X]
//            [--show "COMMAND"]... [--log-level debug|info] [--stamps]
//
// Timeline: open N sessions at once; start each that came up; a separate
// thread (standing in for the media thread) sends N frames per direction
// through the sessions' audio sinks; then a wait until the pool has written
// them (up to 0.5 s); then stop and close them (unless --keep); then
// --linger-ms of waiting (or, with --interactive, commands from stdin until
// `quit`); then the --show commands; then stop.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <voxfork/config.hpp>
#include <voxfork/ops.hpp>
#include <voxfork/stream.hpp>
#include <voxfork/ws.hpp>

namespace asio = boost::asio;
using nlohmann::json;

namespace {

struct Options {
    std::string config_path;
    voxfork::stream::Target target;
    int calls = 1;
    int frames = 0;
    int interval_ms = 20;
    bool keep = false;
    int linger_ms = 0;
    bool interactive = false;
    double time_scale = 0;
    std::vector<std::string> shows;
    std::string log_level = "info";
    bool stamps = false;  // print when each of call 0's caller frames was handed to the sink
};

void emit(const json& j) {
    std::cout << j.dump() << std::endl;
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "ws-probe: %s\n", why);
    std::exit(2);
}

Options parse_args(int argc, char** argv) {
    Options o;
    o.target.secure = false;  // ws:// unless --secure
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--config")
            o.config_path = value();
        else if (a == "--host")
            o.target.host = value();
        else if (a == "--port")
            o.target.port = static_cast<std::uint16_t>(std::stoi(value()));
        else if (a == "--secure")
            o.target.secure = true;
        else if (a == "--path")
            o.target.path = value();
        else if (a == "--token")
            o.target.token = value();
        else if (a == "--profile")
            o.target.profile_tag = static_cast<std::uint32_t>(std::stoul(value()));
        else if (a == "--calls")
            o.calls = std::stoi(value());
        else if (a == "--frames")
            o.frames = std::stoi(value());
        else if (a == "--interval-ms")
            o.interval_ms = std::stoi(value());
        else if (a == "--keep")
            o.keep = true;
        else if (a == "--linger-ms")
            o.linger_ms = std::stoi(value());
        else if (a == "--interactive")
            o.interactive = true;
        else if (a == "--time-scale")
            o.time_scale = std::stod(value());
        else if (a == "--show")
            o.shows.push_back(value());
        else if (a == "--log-level")
            o.log_level = value();
        else if (a == "--stamps")
            o.stamps = true;
        else
            usage(("unknown argument " + a).c_str());
    }
    if (o.target.host.empty() || o.target.port == 0) usage("--host and --port are required");
    return o;
}

using voxfork::media::Direction;
using voxfork::stream::SessionHandle;
constexpr Direction directions[2] = {Direction::caller, Direction::callee};

class Probe final : public voxfork::stream::Events {
public:
    Probe(asio::io_context& io, Options options, voxfork::config::ConfigPtr config)
        : io_(io), opt_(std::move(options)), timer_(io) {
        auto settings = voxfork::ws::Settings::from_environment();
        if (opt_.time_scale > 0) settings.time_scale = opt_.time_scale;
        pool_ = voxfork::ws::Pool::create(io, config, registry_, voxfork::dns::Resolver::create(io, config), settings);
        streams_ = voxfork::stream::Streams::create(io, *pool_, std::move(config));
        streams_->set_events(this);
    }

    void start() {
        for (int i = 0; i < opt_.calls; ++i) {
            const voxfork::stream::CallInfo call{static_cast<std::uint64_t>(100 + i), static_cast<std::uint64_t>(i + 1),
                                                 "PROBE" + std::to_string(i), "probe-" + std::to_string(i),
                                                 json::object(), "100" + std::to_string(i), "Probe", "6777"};
            index_[streams_->open(opt_.target, call)] = i;
        }
    }

    void on_established(SessionHandle session, const voxfork::stream::Established& e) override {
        const int i = index_[session];
        emit({{"event", "attach"},
              {"call", i},
              {"ok", true},
              {"reason", ""},
              {"connection", e.connection_id},
              {"caller", e.channel[0]},
              {"callee", e.channel[1]}});
        live_[session] = e;
        streams_->start(session, voxfork::stream::Codec::ulaw, json::object());
        streams_->fork_started();
        if (++answered_ == opt_.calls) start_media();
    }

    void on_failed(SessionHandle session, std::string_view reason) override {
        emit({{"event", "attach"}, {"call", index_[session]}, {"ok", false}, {"reason", reason}});
        streams_->fork_failed();
        if (++answered_ == opt_.calls) start_media();
    }

    void on_ended(SessionHandle session, const voxfork::stream::Ending& ending) override {
        if (ending.by_server) {
            emit({{"event", "server_stop"},
                  {"call", index_[session]},
                  {"reason", ending.reason},
                  {"server_reason", ending.server_words}});
        } else {
            emit({{"event", "connection_lost"}, {"call", index_[session]}, {"reason", ending.reason}});
        }
        live_.erase(session);
    }

    void on_paused_by_server(SessionHandle session) override {
        emit({{"event", "server_pause"}, {"call", index_[session]}});
    }
    void on_resumed_by_server(SessionHandle session) override {
        emit({{"event", "server_resume"}, {"call", index_[session]}});
    }
    void on_updated(SessionHandle session) override { emit({{"event", "updated"}, {"call", index_[session]}}); }

private:
    voxfork::stream::Delivery delivered(SessionHandle session, Direction d) const {
        return streams_->delivered(session, d).value_or(voxfork::stream::Delivery{});
    }

    // Stands in for the media packet thread: one thread, sinks only.
    void start_media() {
        std::vector<voxfork::stream::Established> calls;
        for (auto& [h, e] : live_) calls.push_back(e);
        if (!calls.empty()) stamped_channel_ = calls.front().channel[0];
        if (opt_.frames <= 0 || calls.empty()) return after_media();
        stamps_.assign(static_cast<std::size_t>(opt_.frames), 0);
        media_ = std::thread([this, calls] {
            std::uint8_t payload[160];
            std::uint64_t refused = 0;
            for (int f = 0; f < opt_.frames; ++f) {
                std::memset(payload, 0xff - (f & 0x7f), sizeof payload);
                // Unix time in µs, comparable with the speech server's event times.
                stamps_[static_cast<std::size_t>(f)] = std::chrono::duration_cast<std::chrono::microseconds>(
                                                           std::chrono::system_clock::now().time_since_epoch())
                                                           .count();
                for (const auto& c : calls) {
                    for (auto d : directions) {
                        const auto seq = static_cast<std::uint32_t>(f);
                        if (c.audio->send(d, seq, seq * 160, payload) == 0) ++refused;
                    }
                }
                if (opt_.interval_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opt_.interval_ms));
            }
            refused_ = refused;
            asio::post(io_, [this] {
                media_.join();
                emit({{"event", "media_done"}, {"refused", refused_.load()}});
                if (opt_.stamps) emit({{"event", "stamps"}, {"channel", stamped_channel_}, {"times", stamps_}});
                await_written(500);  // rounds of 1 ms
            });
        });
    }

    // The pool writes what the sink took on its next drain tick: wait until
    // every running session's frames are sent or dropped, so the counters,
    // shows and stop that follow see all of them. Bounded, for a connection
    // that died meanwhile; not exact after a refusal, so not waited for then.
    void await_written(int rounds_left) {
        if (rounds_left > 0 && refused_ == 0 && !all_written()) {
            timer_.expires_after(std::chrono::milliseconds(1));
            timer_.async_wait([this, rounds_left](boost::system::error_code) { await_written(rounds_left - 1); });
            return;
        }
        after_media();
    }

    bool all_written() const {
        for (const auto& [h, e] : live_) {
            for (auto d : directions) {
                const auto c = delivered(h, d);
                if (c.frames_sent + c.frames_dropped < static_cast<std::uint64_t>(opt_.frames)) return false;
            }
        }
        return true;
    }

    void emit_channel(SessionHandle h, std::uint32_t channel, const voxfork::stream::Delivery& c) {
        emit({{"event", "channel"},
              {"call", index_[h]},
              {"channel", channel},
              {"frames_sent", c.frames_sent},
              {"bytes_sent", c.bytes_sent},
              {"frames_dropped", c.frames_dropped}});
    }

    void after_media() {
        for (auto& [h, e] : live_) {
            for (auto d : directions) emit_channel(h, e.channel[static_cast<std::size_t>(d)], delivered(h, d));
        }
        if (!opt_.keep) {
            for (auto& [h, e] : live_) {
                streams_->stop(h, voxfork::reason::forking_stopped);
                streams_->close(h);
                streams_->fork_ended();
            }
            live_.clear();
        }
        if (opt_.interactive) return read_commands();
        timer_.expires_after(std::chrono::milliseconds(opt_.linger_ms));
        timer_.async_wait([this](boost::system::error_code) { finish(); });
    }

    void read_commands() {
        emit({{"event", "ready"}});
        stdin_ = std::thread([this] {
            std::string line;
            while (std::getline(std::cin, line)) {
                if (line == "quit") break;
                asio::post(io_, [this, line] { run_command(line); });
            }
            asio::post(io_, [this] {
                stdin_.join();
                finish();
            });
        });
    }

    void run_command(const std::string& line) {
        if (line == "stats")
            return emit({{"event", "stats"}, {"text", voxfork::ws::format_statistics(pool_->statistics())}});
        const auto r = registry_.execute(line);
        emit({{"event", "command"}, {"command", line}, {"ok", r.ok}, {"text", r.text}});
    }

    void finish() {
        for (const auto& s : opt_.shows) run_command(s);
        run_command("stats");
        // Kept sessions hear of the shutdown as the daemon's forks would.
        pool_->stop([this] {
            emit({{"event", "stopped"}});
            io_.stop();
        });
    }

    asio::io_context& io_;
    Options opt_;
    voxfork::ops::CommandRegistry registry_;
    std::unique_ptr<voxfork::ws::Pool> pool_;
    std::unique_ptr<voxfork::stream::Streams> streams_;
    asio::steady_timer timer_;
    std::map<SessionHandle, int> index_;
    std::map<SessionHandle, voxfork::stream::Established> live_;
    int answered_ = 0;
    std::thread media_, stdin_;
    std::atomic<std::uint64_t> refused_{0};
    std::vector<std::int64_t> stamps_;  // written by the media thread only until it is joined
    std::uint32_t stamped_channel_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_args(argc, argv);
    auto config = std::make_shared<voxfork::config::Config>();
    if (!options.config_path.empty()) {
        auto parsed = voxfork::config::parse_file(options.config_path);
        if (!parsed.errors.empty()) {
            for (const auto& e : parsed.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
            return 1;
        }
        config = std::make_shared<voxfork::config::Config>(*parsed.config);
    }
    // The log goes to stderr; stdout carries only the JSON lines.
    voxfork::ops::setup_logging(
        "ws-probe", options.log_level == "debug" ? voxfork::config::LogLevel::debug : voxfork::config::LogLevel::info);
    asio::io_context io;
    // The media and stdin threads post to it: it must not run out of work
    // while they do; the probe stops it when it is done.
    auto work = asio::make_work_guard(io);
    Probe probe(io, options, config);
    probe.start();
    io.run();
    return 0;
}
