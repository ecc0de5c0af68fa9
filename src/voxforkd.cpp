// voxforkd: the session border controller daemon.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "config_check.hpp"
#include "daemon.hpp"
#include "voxfork/config.hpp"
#include "voxfork/ops.hpp"

namespace {

constexpr const char* usage =
    "usage: voxforkd -c FILE [--foreground] [--check] [--rtp-priority N]\n"
    "  -c, --config FILE  the configuration file (default /etc/voxfork/voxforkd.conf)\n"
    "  --foreground       stay in the foreground (voxforkd always does; systemd supervises it)\n"
    "  --check            check the configuration (syntax, ranges, references, the CA files it\n"
    "                     names, port collisions), print the errors or \"configuration OK\", exit\n"
    "  --rtp-priority N   run the RTP packet thread at SCHED_FIFO priority N (1-99; needs root,\n"
    "                     CAP_SYS_NICE or RLIMIT_RTPRIO >= N); default: ordinary scheduling\n"
    "  --version          print the version\n";

}  // namespace

int main(int argc, char** argv) {
    std::string config_path = "/etc/voxfork/voxforkd.conf";
    bool check_only = false;
    int rtp_priority = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--rtp-priority" && i + 1 < argc) {
            const std::string value = argv[++i];
            char* end = nullptr;
            const long n = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || n < 1 || n > 99) {
                std::cerr << "voxforkd: --rtp-priority wants a number from 1 to 99, not \"" << value << "\"\n";
                return 2;
            }
            rtp_priority = static_cast<int>(n);
        } else if (arg == "--check") {
            check_only = true;
        } else if (arg == "--foreground" || arg == "-f") {
            // The default: voxforkd never forks into the background.
        } else if (arg == "--version") {
            std::cout << "voxforkd " << VOXFORK_VERSION << "\n";
            return 0;
        } else if (arg == "-h" || arg == "--help") {
            std::cout << usage;
            return 0;
        } else {
            std::cerr << "voxforkd: unknown argument \"" << arg << "\"\n" << usage;
            return 2;
        }
    }

    auto result = voxfork::config::parse_file(config_path);
    if (!result.errors.empty()) {
        for (const auto& error : result.errors) std::cerr << error.to_string() << "\n";
        return 1;
    }
    if (check_only) {
        // The file parsed; now what it names on this host (the unit runs this
        // before every start, so a missing CA file stops the start).
        std::ifstream file(config_path);
        const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        const auto problems = voxfork::check_meaning(*result.config, config_path, text);
        for (const auto& problem : problems) std::cerr << problem.to_string() << "\n";
        if (!problems.empty()) return 1;
        std::cout << "configuration OK\n";
        return 0;
    }

    voxfork::ops::setup_logging(result.config->hostname, result.config->logging_level);
    voxfork::Daemon daemon(config_path, result.config, rtp_priority);
    return daemon.run();
}
