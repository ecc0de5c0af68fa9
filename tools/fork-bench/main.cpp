// fork-bench: N forked calls through a running voxforkd (see run.sh, which
// starts it). Ramps the calls up, asks for forking on each, holds them while
// measuring, hangs up, and prints one results line. A benchmark, not a test:
// see docs/performance.md, "Forked calls".
#include "rtp.hpp"
#include "sip.hpp"
#include "ws_sink.hpp"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

using namespace forkbench;

namespace {

struct Options {
    SipOptions sip;
    int pid = 0;
    double hold_s = 20, settle_s = 2;
    Receivers receivers = Receivers::poll;
    std::uint16_t speech_port = 0;  // an outside speech server instead of the bench's own sink
    Protocol protocol = Protocol::voxfork_v1;  // the profile's, which the sink speaks
};

void usage() {
    std::cerr << "usage: fork-bench --sip-port P --uas-port P --pid VOXFORKD_PID [--calls N] [--rate CALLS_PER_S]\n"
                 "                  [--hold SECONDS] [--settle SECONDS] [--wake-receivers] [--no-fork]\n"
                 "                  [--speech-port P]   (forks go to a speech server on 127.0.0.1:P)\n"
                 "                  [--protocol voxfork-v1|audiohook|raw|raw-interleaved]   (the profile's; raw: separate layout)\n";
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--wake-receivers") {  // see Receivers in common.hpp
            o.receivers = Receivers::wake;
            continue;
        }
        if (a == "--no-fork") {  // the relay alone: what forking adds is the difference
            o.sip.fork = false;
            continue;
        }
        if (i + 1 >= argc) usage();
        const char* v = argv[++i];
        if (a == "--sip-port")
            o.sip.daemon_port = static_cast<std::uint16_t>(std::atoi(v));
        else if (a == "--uas-port")
            o.sip.uas_port = static_cast<std::uint16_t>(std::atoi(v));
        else if (a == "--pid")
            o.pid = std::atoi(v);
        else if (a == "--calls")
            o.sip.calls = static_cast<unsigned>(std::atoi(v));
        else if (a == "--rate")
            o.sip.calls_per_second = std::atof(v);
        else if (a == "--hold")
            o.hold_s = std::atof(v);
        else if (a == "--settle")
            o.settle_s = std::atof(v);
        else if (a == "--speech-port")
            o.speech_port = static_cast<std::uint16_t>(std::atoi(v));
        else if (a == "--protocol" && std::string_view(v) == "voxfork-v1")
            o.protocol = Protocol::voxfork_v1;
        else if (a == "--protocol" && std::string_view(v) == "audiohook")
            o.protocol = Protocol::audiohook;
        else if (a == "--protocol" && std::string_view(v) == "raw")
            o.protocol = Protocol::raw;
        else if (a == "--protocol" && std::string_view(v) == "raw-interleaved")
            o.protocol = Protocol::raw_interleaved;
        else
            usage();
    }
    if (o.pid <= 0 || o.sip.uas_port == 0 || o.sip.calls == 0 || o.sip.calls_per_second <= 0) usage();
    return o;
}

// utime + stime, in seconds, from a /proc/.../stat line (fields 14 and 15).
double cpu_seconds(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(line.substr(close + 2));
    std::string skip;
    for (int field = 3; field < 14; ++field) rest >> skip;
    double utime = 0, stime = 0;
    rest >> utime >> stime;
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}

// CPU seconds per thread name (threads of one name summed).
std::map<std::string, double> thread_cpu(int pid) {
    std::map<std::string, double> out;
    std::string base = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = opendir(base.c_str());
    if (!dir) return out;
    while (dirent* e = readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream comm(base + "/" + e->d_name + "/comm");
        std::string name;
        std::getline(comm, name);
        out[name] += cpu_seconds(base + "/" + e->d_name + "/stat");
    }
    closedir(dir);
    return out;
}

double load_average() {
    double l = 0;
    std::ifstream("/proc/loadavg") >> l;
    return l;
}

void sleep_s(double s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    const std::string stat = "/proc/" + std::to_string(o.pid) + "/stat";
    const unsigned n = o.sip.calls;
    long rss_idle = rss_kib(o.pid);

    WsSink sink(o.receivers, o.protocol);
    if (o.protocol != Protocol::voxfork_v1) o.sip.token = "bench-key";
    Media media(n, o.receivers);
    // With an outside server (tools/soak.sh restarts one) the sink stays
    // idle and its frame figures read 0.
    o.sip.speech_port = o.speech_port ? o.speech_port : sink.port();
    Sip sip(o.sip, media);
    media.start();
    sip.start();

    // Ramp: until every call is forked (or failed), or the ramp's time + 15 s.
    double limit = n / o.sip.calls_per_second + 15;
    auto t0 = std::chrono::steady_clock::now();
    for (SipCounts c = sip.counts(); c.started + c.other_status + c.failed < n; c = sip.counts()) {
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (elapsed > limit) {
            std::fprintf(stderr, "fork-bench: ramp timed out: %u answered, %u forked, %u failed\n", c.answered,
                         c.started, c.failed);
            break;
        }
        sleep_s(0.1);
    }
    double ramp_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sleep_s(o.settle_s);

    // The measuring window.
    long rss_held = rss_kib(o.pid);
    auto threads0 = thread_cpu(o.pid);
    double cpu0 = cpu_seconds(stat), self0 = cpu_seconds("/proc/self/stat"), load0 = load_average();
    SinkCounts sink0 = sink.counts();
    auto w0 = std::chrono::steady_clock::now();
    media.measure(true);
    sink.measure(true);
    sleep_s(o.hold_s);
    media.measure(false);
    sink.measure(false);
    double window_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    double cpu = cpu_seconds(stat) - cpu0, load1 = load_average();
    double self_cpu = cpu_seconds("/proc/self/stat") - self0;  // the bench's own share of the 2 cores
    auto threads1 = thread_cpu(o.pid);
    MediaCounts window = media.window();
    // Again at the window's end: with a hold past the SIP timers (32 s, the
    // non-INVITE transactions of the set-up), what a call keeps for its life.
    long rss_end = rss_kib(o.pid);

    media.stop_sending();
    sleep_s(0.5);  // the relay's and the fork's queues drain
    media.stop();
    MediaCounts total = media.totals();
    SinkCounts sink1 = sink.counts();
    SipCounts calls = sip.counts();

    sip.hang_up(o.sip.calls_per_second * 2);
    sleep_s(calls.answered / (o.sip.calls_per_second * 2) + 0.1);
    for (auto t = std::chrono::steady_clock::now();
         sip.counts().ended < sip.counts().byes && std::chrono::steady_clock::now() - t < std::chrono::seconds(20);)
        sleep_s(0.1);
    sip.stop();
    sleep_s(0.5);
    SinkCounts sink2 = sink.counts();
    sink.stop();

    std::uint64_t sent = total.sent[0] + total.sent[1];
    // Both directions: caller -> callee, callee -> caller.
    std::uint64_t lost_out = total.sent[caller_side] - total.received[callee_side];
    std::uint64_t lost_back = total.sent[callee_side] - total.received[caller_side];
    std::uint64_t lost = lost_out + lost_back;
    std::uint64_t relayed = window.received[0] + window.received[1];
    std::uint64_t frames = sink1.window_frames - sink0.window_frames;
    const Histogram& relay = media.latency();
    const Histogram& fork = sink.latency();
    std::printf(
        "fork-bench calls=%u answered=%u forked=%u failed=%u ramp_s=%.1f window_s=%.1f load=%.1f-%.1f | "
        "rtp_sent=%llu rtp_lost=%llu(%llu+%llu) relayed_pps=%.0f relay_p50_us=%llu relay_p99_us=%llu | "
        "ws_conns=%llu channels=%llu frames_pps=%.0f seq_gaps=%llu fork_p50_us=%llu fork_p99_us=%llu "
        "fork_p999_us=%llu | cpu_pct=%.1f cpu_us_per_pkt=%.2f cpu_pct_per_call=%.4f rss_idle_kib=%ld "
        "rss_held_kib=%ld rss_kib_per_call=%.1f rss_end_kib_per_call=%.1f bench_cpu_pct=%.1f | ended=%u stops=%llu sip_retrans=%u\n",
        n, calls.answered, calls.started, calls.failed, ramp_s, window_s, load0, load1,
        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(lost),
        static_cast<unsigned long long>(lost_out), static_cast<unsigned long long>(lost_back), relayed / window_s,
        static_cast<unsigned long long>(relay.quantile(0.5)), static_cast<unsigned long long>(relay.quantile(0.99)),
        static_cast<unsigned long long>(sink2.connections), static_cast<unsigned long long>(sink2.channels),
        frames / window_s, static_cast<unsigned long long>(sink2.dropped),
        static_cast<unsigned long long>(fork.quantile(0.5)), static_cast<unsigned long long>(fork.quantile(0.99)),
        static_cast<unsigned long long>(fork.quantile(0.999)), 100 * cpu / window_s,
        relayed ? 1e6 * cpu / static_cast<double>(relayed) : 0.0, 100 * cpu / window_s / n, rss_idle, rss_held,
        static_cast<double>(rss_held - rss_idle) / n, static_cast<double>(rss_end - rss_idle) / n, 100 * self_cpu / window_s, sip.counts().ended,
        static_cast<unsigned long long>(sink2.stops), calls.retransmits);
    std::printf("fork-bench threads (CPU %% of one core over the window):");
    for (auto& [name, seconds] : threads1) {
        double d = seconds - threads0[name];
        if (d > 0) std::printf(" %s=%.1f", name.c_str(), 100 * d / window_s);
    }
    std::printf("\n");
    return calls.started == n && lost == 0 && sink2.dropped == 0 ? 0 : 1;
}
