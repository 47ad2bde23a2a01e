#include "integration/stack_support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <stdexcept>

namespace cvgate::test {
namespace {

std::string stack_dir() {
    const char* dir = std::getenv("CVGATE_STACK_DIR");
    return dir && *dir ? dir : CVGATE_DEFAULT_STACK_DIR;
}

// `export NAME=value` lines (values possibly single- or double-quoted).
std::map<std::string, std::string> read_env_file(const std::string& path) {
    std::ifstream in{path};
    if (!in) throw std::runtime_error{"no stack env file at " + path + ": is the stack fixture running?"};
    std::map<std::string, std::string> vars;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("export ", 0) == 0) line.erase(0, 7);
        auto eq = line.find('=');
        if (eq == std::string::npos || line.empty() || line[0] == '#') continue;
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        vars[line.substr(0, eq)] = value;
    }
    return vars;
}

}  // namespace

const StackEnv& stack_env() {
    static const StackEnv env = [] {
        StackEnv e;
        e.stack_dir = stack_dir();
        auto vars = read_env_file(e.stack_dir + "/env");
        e.database_url = vars["DATABASE_URL"];
        e.mongo_url = vars["MONGO_URL"];
        e.rabbitmq_url = vars["RABBITMQ_URL"];
        e.amqp_node = vars["RABBITMQ_NODENAME"];
        return e;
    }();
    return env;
}

std::string shell(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error{"popen failed: " + command};
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0)
        throw std::runtime_error{"command failed (" + std::to_string(status) + "): " + command + "\n" + out};
    return out;
}

void stack_ctl(std::string_view args) {
    shell("CVGATE_STACK_DIR='" + stack_env().stack_dir + "' " CVGATE_STACK_SCRIPT " " + std::string{args} +
          " 2>&1");
}

}  // namespace cvgate::test
