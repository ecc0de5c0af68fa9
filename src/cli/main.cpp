// voxfork: the operator's client for voxforkd's control socket.
//   voxfork [-s SOCKET] COMMAND...   one command; exit 0 ran, 1 rejected, 2 unreachable
//   voxfork [-s SOCKET]              interactive prompt (HOSTNAME#)
#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "control_client.hpp"

namespace {

constexpr int exit_ran = 0, exit_rejected = 1, exit_unreachable = 2;
constexpr const char* default_socket = "/run/voxfork/voxforkd.sock";

constexpr const char* usage =
    "usage: voxfork [-s SOCKET] [COMMAND...]\n"
    "  -s SOCKET  the daemon's control socket (default /run/voxfork/voxforkd.sock,\n"
    "             or $VOXFORK_SOCKET)\n"
    "Without COMMAND: an interactive prompt; `exit` or end of input leaves it.\n";

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

int run_one(voxfork::cli::ControlClient& client, const std::string& line, const std::string& socket_path) {
    std::string error;
    const auto answer = client.execute(line, error);
    if (!answer) {
        std::cerr << "voxfork: " << socket_path << ": " << error << "\n";
        return exit_unreachable;
    }
    std::cout << answer->output << std::flush;
    return answer->ok ? exit_ran : exit_rejected;
}

// Reads one line: with line editing and history on a terminal, plainly from a pipe.
bool read_command(bool terminal, const std::string& prompt, std::string& line) {
    if (terminal) {
        char* raw = readline(prompt.c_str());
        if (!raw) return false;
        line = raw;
        std::free(raw);
        if (!trim(line).empty()) add_history(line.c_str());
        return true;
    }
    std::cout << prompt << std::flush;
    if (!std::getline(std::cin, line)) {
        std::cout << "\n";
        return false;
    }
    return true;
}

int interactive(voxfork::cli::ControlClient& client, const std::string& socket_path) {
    std::string hostname = "voxfork", error;
    if (auto answer = client.execute("show hostname", error); answer && answer->ok)
        hostname = trim(answer->output);
    else if (!answer) {
        std::cerr << "voxfork: " << socket_path << ": " << error << "\n";
        return exit_unreachable;
    }

    const bool terminal = ::isatty(STDIN_FILENO);
    const std::string prompt = hostname + "#";
    std::vector<std::string> history;
    for (std::string line; read_command(terminal, prompt, line);) {
        line = trim(line);
        if (line.empty()) continue;
        if (line == "exit" || line == "quit" || line == "end") break;
        if (line == "show history") {
            for (const auto& entry : history) std::cout << "  " << entry << "\n";
            history.push_back(line);
            continue;
        }
        history.push_back(line);
        if (run_one(client, line, socket_path) == exit_unreachable) return exit_unreachable;
    }
    return exit_ran;
}

}  // namespace

int main(int argc, char** argv) {
    std::string socket_path = std::getenv("VOXFORK_SOCKET") ? std::getenv("VOXFORK_SOCKET") : default_socket;
    std::string command;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-s" && i + 1 < argc) {
            socket_path = argv[++i];
        } else if (arg == "-h" || arg == "--help") {
            std::cout << usage;
            return exit_ran;
        } else {
            break;
        }
    }
    for (; i < argc; ++i) command += (command.empty() ? "" : " ") + std::string(argv[i]);

    voxfork::cli::ControlClient client;
    std::string error;
    if (!client.connect(socket_path, error)) {
        std::cerr << "voxfork: cannot reach " << socket_path << ": " << error << "\n";
        return exit_unreachable;
    }
    return command.empty() ? interactive(client, socket_path) : run_one(client, command, socket_path);
}
