#pragma once
// Access, from integration tests, to the real servers the `stack` ctest fixture started:
// their URLs, and stopping/starting one of them for outage tests.

#include <string>
#include <string_view>

namespace cvgate::test {

struct StackEnv {
    std::string stack_dir;
    std::string database_url;  // postgresql://postgres@127.0.0.1:PORT/kandidate
    std::string mongo_url;     // mongodb://127.0.0.1:PORT
    std::string rabbitmq_url;  // amqp://guest:guest@127.0.0.1:PORT/
    std::string amqp_node;     // RabbitMQ node name, for rabbitmqctl (may be empty)
};

// Reads $CVGATE_STACK_DIR/env (written by deploy/local/stack.sh); fails the test if absent.
const StackEnv& stack_env();

// Runs `deploy/local/stack.sh <args>` against the fixture's stack, e.g. "stop mongo",
// "start mongo"; throws if it fails.
void stack_ctl(std::string_view args);

// Runs a shell command and returns its standard output; throws on a non-zero exit.
std::string shell(const std::string& command);

}  // namespace cvgate::test
