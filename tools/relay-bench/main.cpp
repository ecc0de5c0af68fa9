// relay-bench: N calls of paced RTP through an in-process Relay on 127.0.0.1.
//   relay-bench [--sessions N] [--seconds S] [--tap] [--port-min P] [--tick-us US] [--floor] [--family 4|6|46|64]
//   relay-bench --external PID PORTS-FILE --generator-ports CALLER CALLEE [--seconds S] [--tick-us US]
// --floor first measures the minimal forwarder (floor.hpp).
// --family: the legs' families, caller's then callee's (46: IPv4 callers,
// IPv6 callees, the relay bridging them); 127.0.0.1 and ::1.
// --external plays the same traffic through another relay process, already
// set up with one call per line of PORTS-FILE ("port-a port-b": where callers
// and callees send), its far ends at the generator's ports; the CPU charged is
// that whole process's (compare-rtpengine.py drives this).
// Prints loss, one-way latency, the relay thread's CPU per relayed packet and
// the generator's own CPU, so the two can be told apart.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "floor.hpp"
#include "traffic.hpp"

namespace {

using namespace voxfork::media;

struct Args {
    unsigned sessions = 100;
    double seconds = 10;
    bool tap = false;
    bool floor = false;
    int tick_us = 100;
    unsigned port_min = 40000;
    pid_t external_pid = 0;
    std::string external_ports;
    std::uint16_t caller_port = 0;
    std::uint16_t callee_port = 0;
    voxfork::net::Family caller_family = voxfork::net::Family::v4;
    voxfork::net::Family callee_family = voxfork::net::Family::v4;
};

constexpr const char* kUsage =
    "usage: relay-bench [--sessions N] [--seconds S] [--tap] [--port-min EVEN] [--tick-us US] [--floor]\n"
    "                   [--family 4|6|46|64]\n"
    "       relay-bench --external PID PORTS-FILE --generator-ports CALLER CALLEE [--seconds S] [--tick-us US]\n";

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--sessions" && has_value) {
            a.sessions = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--seconds" && has_value) {
            a.seconds = std::stod(argv[++i]);
        } else if (arg == "--port-min" && has_value) {
            a.port_min = static_cast<unsigned>(std::stoul(argv[++i])) & ~1u;
        } else if (arg == "--tap") {
            a.tap = true;
        } else if (arg == "--tick-us" && has_value) {
            a.tick_us = std::clamp(std::stoi(argv[++i]), 10, 20'000);
        } else if (arg == "--floor") {
            a.floor = true;
        } else if (arg == "--family" && has_value) {
            const std::string f = argv[++i];
            const auto family = [](char c) { return c == '6' ? voxfork::net::Family::v6 : voxfork::net::Family::v4; };
            if (f != "4" && f != "6" && f != "46" && f != "64") {
                std::cerr << kUsage;
                std::exit(2);
            }
            a.caller_family = family(f.front());
            a.callee_family = family(f.back());
        } else if (arg == "--external" && i + 2 < argc) {
            a.external_pid = static_cast<pid_t>(std::stol(argv[++i]));
            a.external_ports = argv[++i];
        } else if (arg == "--generator-ports" && i + 2 < argc) {
            a.caller_port = static_cast<std::uint16_t>(std::stoul(argv[++i]));
            a.callee_port = static_cast<std::uint16_t>(std::stoul(argv[++i]));
        } else {
            std::cerr << kUsage;
            std::exit(2);
        }
    }
    return a;
}

// The relay's packet thread, found by the name it gives itself.
std::optional<pid_t> relay_thread() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (DIR* dir = ::opendir("/proc/self/task")) {
            while (const dirent* e = ::readdir(dir)) {
                std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
                std::string name;
                if (std::getline(comm, name) && name == "vf-rtp-relay") {
                    const pid_t tid = std::atoi(e->d_name);
                    ::closedir(dir);
                    return tid;
                }
            }
            ::closedir(dir);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

// Another thread's CPU clock: Linux encodes it from the thread id (the same
// encoding pthread_getcpuclockid uses).
std::int64_t thread_cpu_ns(pid_t tid) {
    const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(tid)) << 3) | 6;
    timespec ts{};
    if (::clock_gettime(clock, &ts) != 0) return -1;
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string one, five, fifteen;
    f >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

// What a fork costs on the packet thread: a 12-byte frame header and the
// payload copied into a ring.
class RingTap : public TapSink {
public:
    void on_rtp(Direction direction, const RtpPacket& p) noexcept override {
        std::uint8_t header[12];
        const std::uint32_t fields[3] = {static_cast<std::uint32_t>(direction), p.sequence, p.timestamp};
        std::memcpy(header, fields, sizeof header);
        put(header, sizeof header);
        put(p.payload.data(), p.payload.size());
        ++frames;
    }
    std::uint64_t frames = 0;

private:
    void put(const std::uint8_t* data, std::size_t size) {
        const std::size_t first = std::min(size, ring_.size() - head_);
        std::memcpy(&ring_[head_], data, first);
        std::memcpy(&ring_[0], data + first, size - first);
        head_ = (head_ + size) % ring_.size();
    }
    std::vector<std::uint8_t> ring_ = std::vector<std::uint8_t>(4 << 20);
    std::size_t head_ = 0;
};

std::uint64_t percentile(const std::vector<std::uint64_t>& histogram, std::uint64_t total, double fraction) {
    const auto rank = static_cast<std::uint64_t>(fraction * static_cast<double>(total));
    std::uint64_t seen = 0;
    for (std::size_t us = 0; us < histogram.size(); ++us) {
        seen += histogram[us];
        if (seen > rank) return us;
    }
    return histogram.size() - 1;
}

std::uint64_t relayed(const RelayCounters& c) {
    return c.direction[0].packets_relayed.load() + c.direction[1].packets_relayed.load();
}
std::uint64_t dropped(const RelayCounters& c, std::atomic<std::uint64_t> DirectionCounters::*which) {
    return (c.direction[0].*which).load() + (c.direction[1].*which).load();
}

// What both modes print: loss, latency, and the relay's CPU per packet.
struct RelayCost {
    std::int64_t cpu_ns = 0;
    std::uint64_t packets = 0;  // relayed RTP packets the CPU is divided by
    const char* whose = "relay thread";
};

void report(const Args& args, const relay_bench::TrafficResult& r, const RelayCost& cost,
            const std::string& load_before) {
    const double per_packet_us =
        cost.packets ? static_cast<double>(cost.cpu_ns) / 1e3 / static_cast<double>(cost.packets) : 0;
    const double generator_us =
        r.sent ? static_cast<double>(r.sender_cpu_ns + r.receiver_cpu_ns) / 1e3 / static_cast<double>(r.sent) : 0;
    const std::uint64_t lost = r.sent > r.received ? r.sent - r.received : 0;
    const auto family = [](voxfork::net::Family f) { return f == voxfork::net::Family::v6 ? "IPv6" : "IPv4"; };
    std::printf("sessions %u  seconds %.1f  tick %d us  tap %s  legs %s/%s  load before %s  after %s\n",
                args.sessions, args.seconds, args.tick_us, args.tap ? "copy-to-ring" : "off",
                family(args.caller_family), family(args.callee_family), load_before.c_str(), load_average().c_str());
    std::printf("sent %llu  received %llu  lost %llu (%.4f%%)  out of order %llu\n",
                static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.received),
                static_cast<unsigned long long>(lost),
                r.sent ? 100.0 * static_cast<double>(lost) / static_cast<double>(r.sent) : 0.0,
                static_cast<unsigned long long>(r.out_of_order));
    std::printf("latency one-way us  p50 %llu  p99 %llu  p99.9 %llu\n",
                static_cast<unsigned long long>(percentile(r.latency_us, r.received, 0.50)),
                static_cast<unsigned long long>(percentile(r.latency_us, r.received, 0.99)),
                static_cast<unsigned long long>(percentile(r.latency_us, r.received, 0.999)));
    std::printf(
        "%s  cpu %.1f ms (%.1f%% of one core over the send window)  relayed %llu  %.0f packets/s  %.2f us/packet\n",
        cost.whose, static_cast<double>(cost.cpu_ns) / 1e6,
        100.0 * static_cast<double>(cost.cpu_ns) / (args.seconds * 1e9), static_cast<unsigned long long>(cost.packets),
        static_cast<double>(cost.packets) / args.seconds, per_packet_us);
    std::printf("generator  sender %.1f ms  receiver %.1f ms  %.2f us/packet\n",
                static_cast<double>(r.sender_cpu_ns) / 1e6, static_cast<double>(r.receiver_cpu_ns) / 1e6, generator_us);
}

// Another process's CPU clock (all its threads).
std::int64_t process_cpu_ns(pid_t pid) {
    clockid_t clock{};
    timespec ts{};
    if (::clock_getcpuclockid(pid, &clock) != 0 || ::clock_gettime(clock, &ts) != 0) return -1;
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int run_external(Args args) {
    std::ifstream file(args.external_ports);
    std::vector<relay_bench::CallPorts> calls;
    for (unsigned a = 0, b = 0; file >> a >> b;)
        calls.push_back({static_cast<std::uint16_t>(a), static_cast<std::uint16_t>(b)});
    if (calls.empty() || process_cpu_ns(args.external_pid) < 0) {
        std::cerr << "relay-bench: no calls in " << args.external_ports << " or no process " << args.external_pid
                  << "\n";
        return 2;
    }
    args.sessions = static_cast<unsigned>(calls.size());
    relay_bench::Traffic traffic(args.caller_port, args.callee_port);
    const std::string load_before = load_average();
    const std::int64_t cpu_before = process_cpu_ns(args.external_pid);
    const relay_bench::TrafficResult r = traffic.run(calls, args.seconds, args.tick_us, 500);
    // Every packet that came back was relayed once; a lost one cost the relay
    // its receive at most, so dividing by the received ones errs against it.
    const RelayCost cost{process_cpu_ns(args.external_pid) - cpu_before, r.received, "relay process"};
    report(args, r, cost, load_before);
    return r.sent == r.received ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse(argc, argv);
    if (args.external_pid != 0) return run_external(args);
    if (args.floor)
        std::printf("kernel floor (recv, then send on a connected socket): %.2f us/packet\n",
                    relay_bench::kernel_floor_us(300'000));
    RelayOptions options;
    options.bind_address = "127.0.0.1";
    options.bind_address_ipv6 = "::1";
    options.port_min = static_cast<std::uint16_t>(args.port_min);
    options.port_max = static_cast<std::uint16_t>(args.port_min + 4 * args.sessions + 63);  // spare for ports in use
    auto relay = Relay::create(options);
    relay->start();
    const auto tid = relay_thread();

    relay_bench::Traffic traffic(0, 0, args.caller_family, args.callee_family);
    std::vector<relay_bench::CallPorts> calls;
    std::vector<SessionId> ids;
    RingTap tap;
    for (unsigned i = 0; i < args.sessions; ++i) {
        const auto id = relay->allocate(args.caller_family, args.callee_family);
        if (!id) {
            std::cerr << "relay-bench: allocation " << i << " failed\n";
            return 1;
        }
        relay->set_remote(*id, Leg::a, traffic.caller_endpoint(), {});
        relay->set_remote(*id, Leg::b, traffic.callee_endpoint(), {});
        if (args.tap) {
            relay->set_tap(*id, Direction::caller, &tap);
            relay->set_tap(*id, Direction::callee, &tap);
        }
        calls.push_back({relay->local_rtp_port(*id, Leg::a), relay->local_rtp_port(*id, Leg::b)});
        ids.push_back(*id);
    }

    const std::string load_before = load_average();
    const std::int64_t relay_cpu_before = tid ? thread_cpu_ns(*tid) : -1;
    const relay_bench::TrafficResult r = traffic.run(calls, args.seconds, args.tick_us, 500);
    const std::int64_t relay_cpu_ns = tid ? thread_cpu_ns(*tid) - relay_cpu_before : -1;
    const RelayCounters& c = relay->counters();
    const RelayCost cost{relay_cpu_ns, relayed(c), "relay thread"};
    for (SessionId id : ids) relay->release(id);  // detaches the taps before `tap` goes away
    relay->stop();

    report(args, r, cost, load_before);
    std::printf("relay drops  unexpected-source %llu  malformed %llu  no-destination %llu  send-error %llu\n",
                static_cast<unsigned long long>(dropped(c, &DirectionCounters::dropped_unexpected_source)),
                static_cast<unsigned long long>(dropped(c, &DirectionCounters::dropped_malformed)),
                static_cast<unsigned long long>(dropped(c, &DirectionCounters::dropped_no_destination)),
                static_cast<unsigned long long>(dropped(c, &DirectionCounters::dropped_send_error)));
    if (args.tap) std::printf("tap frames copied %llu\n", static_cast<unsigned long long>(tap.frames));
    return r.sent == r.received ? 0 : 3;
}
