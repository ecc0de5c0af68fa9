// voxforkd: the session border controller daemon.
#include <cstring>
#include <iostream>
#include <string>

#include "daemon.hpp"
#include "voxfork/config.hpp"
#include "voxfork/ops.hpp"

namespace {

constexpr const char* usage =
    "usage: voxforkd -c FILE [--foreground] [--check]\n"
    "  -c, --config FILE  the configuration file (default /etc/voxfork/voxforkd.conf)\n"
    "  --foreground       stay in the foreground (voxforkd always does; systemd supervises it)\n"
    "  --check            parse the configuration, print the errors or \"configuration OK\", exit\n"
    "  --version          print the version\n";

}  // namespace

int main(int argc, char** argv) {
    std::string config_path = "/etc/voxfork/voxforkd.conf";
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
            config_path = argv[++i];
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
        std::cout << "configuration OK\n";
        return 0;
    }

    voxfork::ops::setup_logging(result.config->hostname, result.config->logging_level);
    voxfork::Daemon daemon(config_path, result.config);
    return daemon.run();
}
