#pragma once
// cvgate's configuration: environment variables (the pipeline's names), each also a
// command-line flag; flags win over the environment, the environment over defaults.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::app {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { json, text };

struct Config {
    std::string listen_addr = "0.0.0.0";
    std::uint16_t port = 8080;
    std::string upload_volume_path = "/uploads";
    std::string mongo_url = "mongodb://localhost:27017";
    std::string mongo_db_name = "kandidate_db";
    std::string database_url = "postgresql://localhost:5432/kandidate";
    std::string rabbitmq_url = "amqp://guest:guest@localhost:5672/";
    std::string jobs_queue = "jobs_queue";
    std::uint64_t max_file_size = 10ull << 20;
    std::size_t max_files = 50;
    std::uint64_t max_body_size = 110ull << 20;
    std::size_t jd_min_length = 50;
    std::size_t jd_max_length = 10000;
    std::vector<std::string> api_keys;
    std::vector<std::string> cors_origins;
    std::size_t io_threads = 1;
    std::size_t blocking_threads = 4;  // per dependency (bulkheads)
    // Calls of one dependency that may wait for one of its threads (or connections) beyond
    // those running; past it they fail at once with 503.
    std::size_t dependency_queue_limit = 256;
    // Longest an in-doubt call (failed at its deadline after it started) may stay unsettled
    // before its request is rolled back all the same.
    std::chrono::seconds in_doubt{60};
    LogLevel log_level = LogLevel::info;
    LogFormat log_format = LogFormat::json;
    std::chrono::seconds shutdown_grace{25};
    // After SIGTERM, how long idle keep-alive connections stay open and are served (within
    // shutdown_grace). Unset: 5 s, or half of a shorter grace.
    std::chrono::seconds drain{5};
    std::size_t max_header_size = 16 * 1024;
    std::size_t max_connections = 10'000;
    std::chrono::seconds header_timeout{10};
    std::chrono::seconds body_timeout{30};
    std::chrono::seconds idle_timeout{60};
    // What a killed replica left half-done is removed within this time by the others' sweep.
    std::chrono::seconds recovery{120};
    // How long a submit/add-cvs answer is kept for a retry with the same Idempotency-Key.
    std::chrono::seconds idempotency_ttl{24 * 3600};
};

// Bad configuration: one line that names the variable and says what is wrong.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Looks up an environment variable; nullopt when unset.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;
Environment process_environment();

struct LoadResult {
    Config config;
    bool help = false;     // --help was given: print help_text() and exit 0
    bool version = false;  // --version was given
};

// Reads the configuration; throws ConfigError on the first bad value.
LoadResult load_config(const std::vector<std::string_view>& args, const Environment& env);

// `cvgate --help`: every variable with its flag, default and meaning.
std::string help_text();

}  // namespace cvgate::app
