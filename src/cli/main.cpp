// voxfork: the operator's client for voxforkd's control socket.
//   voxfork [-s SOCKET] COMMAND...   one command; exit 0 ran, 1 rejected, 2 unreachable
//   voxfork [-s SOCKET]              interactive prompt (HOSTNAME#)
//   voxfork --version                the client's version, no daemon needed
#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "control_client.hpp"
#include "prompt.hpp"

namespace {

constexpr int exit_ran = 0, exit_rejected = 1, exit_unreachable = 2;
constexpr const char* default_socket = "/run/voxfork/voxforkd.sock";

constexpr const char* usage =
    "usage: voxfork [-s SOCKET] [COMMAND...]\n"
    "       voxfork --version\n"
    "  -s SOCKET  the daemon's control socket (default /run/voxfork/voxforkd.sock,\n"
    "             or $VOXFORK_SOCKET)\n"
    "Without COMMAND: an interactive prompt; `exit` or end of input leaves it,\n"
    "`?` lists what may follow, Tab completes a word. Quote a command with a\n"
    "filter for the shell: voxfork 'show running-config | section media'\n";

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

// The line editor's callbacks have no context argument: the prompt's state.
struct PromptState {
    voxfork::cli::ControlClient* client = nullptr;
    std::string prompt;
    std::vector<std::string> completions;
};
PromptState prompt_state;

std::size_t leading_blanks(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    return first == std::string::npos ? s.size() : first;
}

// `?` as IOS has it: the words that may follow what is left of the cursor,
// each with its help, then the prompt and the line again as they were.
int show_what_may_follow(int, int) {
    const std::string typed(rl_line_buffer, static_cast<std::size_t>(rl_point));
    // After a filter's `|` the `?` belongs to the regular expression.
    for (std::size_t i = 0; i < typed.size(); ++i)
        if (typed[i] == '|' && (i == 0 || typed[i - 1] == ' ' || typed[i - 1] == '\t')) {
            rl_insert_text("?");
            rl_forced_update_display();
            return 0;
        }
    std::string error;
    const auto answer = prompt_state.client->execute(typed + "?", error);
    std::cout << "?\n";
    if (!answer)
        std::cout << "% " << error << "\n";
    else
        std::cout << voxfork::cli::caret_under_prompt(answer->output, prompt_state.prompt.size());
    std::cout << std::flush;
    rl_on_new_line();
    rl_forced_update_display();
    return 0;
}

// Tab: the words the daemon says may stand where the word being typed is.
char* next_completion(const char* text, int state) {
    if (state == 0) {
        prompt_state.completions.clear();
        const std::size_t word_start = static_cast<std::size_t>(rl_point) - std::min<std::size_t>(std::strlen(text), rl_point);
        const std::string before(rl_line_buffer, word_start);
        std::string error;
        if (const auto answer = prompt_state.client->execute(before + text + "? | json", error); answer && answer->ok)
            prompt_state.completions = voxfork::cli::completion_words(answer->output).value_or(std::vector<std::string>{});
    }
    const auto index = static_cast<std::size_t>(state);
    return index < prompt_state.completions.size() ? strdup(prompt_state.completions[index].c_str()) : nullptr;
}

void set_up_line_editing(voxfork::cli::ControlClient& client, const std::string& prompt) {
    prompt_state.client = &client;
    prompt_state.prompt = prompt;
    rl_initialize();
    rl_completion_entry_function = next_completion;
    rl_completion_append_character = ' ';
    rl_add_defun("voxfork-help", show_what_may_follow, '?');
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
    if (terminal) set_up_line_editing(client, prompt);
    std::vector<std::string> history;
    for (std::string raw; read_command(terminal, prompt, raw);) {
        const std::string line = trim(raw);
        if (line.empty()) continue;
        if (line == "exit" || line == "quit" || line == "end") break;
        if (line == "show history") {
            for (const auto& entry : history) std::cout << "  " << entry << "\n";
            history.push_back(line);
            continue;
        }
        history.push_back(line);
        if (!terminal) {
            if (run_one(client, line, socket_path) == exit_unreachable) return exit_unreachable;
            continue;
        }
        std::string error;
        const auto answer = client.execute(line, error);
        if (!answer) {
            std::cerr << "voxfork: " << socket_path << ": " << error << "\n";
            return exit_unreachable;
        }
        std::cout << voxfork::cli::caret_under_prompt(answer->output, prompt.size() + leading_blanks(raw))
                  << std::flush;
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
        } else if (arg == "--version" || arg == "-V") {
            std::cout << "voxfork " << VOXFORK_VERSION << "\n";
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
