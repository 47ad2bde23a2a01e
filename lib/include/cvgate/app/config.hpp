#pragma once
// cvgate's configuration: environment variables (the pipeline's names), each also a
// command-line flag; flags win over the environment, the environment over defaults. Config
// composes the options of the parts it configures (the HTTP server, the upload limits, the
// MongoDB, PostgreSQL and RabbitMQ clients), whose defaults are theirs; what only the
// application uses is named here.

#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/clients/mongo/options.hpp>
#include <cvgate/clients/postgres/options.hpp>
#include <cvgate/http/server_options.hpp>
#include <cvgate/jobs/limits.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::app {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { json, text };

// "debug", "info", "warning", "error": as LOG_LEVEL takes them and log lines say them.
std::string_view to_string(LogLevel level) noexcept;

// The defaults of what only the application uses, named once.
inline constexpr std::string_view default_upload_volume_path = "/uploads";
inline constexpr std::string_view default_rabbitmq_url = "amqp://guest:guest@localhost:5672/";
inline constexpr std::string_view default_jobs_queue = "jobs_queue";
inline constexpr std::size_t blocking_threads_per_core = 4;
inline constexpr std::size_t default_dependency_queue_limit = 256;
inline constexpr std::chrono::seconds default_in_doubt{60};
inline constexpr LogLevel default_log_level = LogLevel::info;
inline constexpr LogFormat default_log_format = LogFormat::json;
inline constexpr std::chrono::seconds default_shutdown_grace{25};
inline constexpr std::chrono::seconds default_drain{5};
inline constexpr std::chrono::seconds default_recovery{120};
inline constexpr std::chrono::seconds default_idempotency_ttl{24 * 3600};

struct Config {
    // LISTEN_ADDR, PORT, IO_THREADS, MAX_HEADER_SIZE, MAX_BODY_SIZE, MAX_CONNECTIONS and the
    // slow-client timeouts; the application adds its hooks.
    http::ServerOptions server;
    // MAX_FILE_SIZE, MAX_FILES, JD_MIN_LENGTH, JD_MAX_LENGTH.
    jobs::Limits upload_limits;
    std::string upload_volume_path{default_upload_volume_path};
    // MONGO_URL, MONGO_DB_NAME and the MONGO_* timeouts; the application sizes the pool
    // (BLOCKING_THREADS, DEPENDENCY_QUEUE_LIMIT).
    clients::mongo::Options mongo;
    // DATABASE_URL and the POSTGRES_* timeouts; the application sizes the pool likewise.
    clients::postgres::PoolOptions postgres;
    std::string rabbitmq_url{default_rabbitmq_url};
    // The RABBITMQ_* timeouts.
    clients::amqp::PublisherOptions rabbitmq;
    std::string jobs_queue{default_jobs_queue};
    std::vector<std::string> api_keys;
    std::vector<std::string> cors_origins;
    std::size_t blocking_threads = blocking_threads_per_core;  // per dependency (bulkheads)
    // Calls of one dependency that may wait for one of its threads (or connections) beyond
    // those running; past it they fail at once with 503.
    std::size_t dependency_queue_limit = default_dependency_queue_limit;
    // Longest an in-doubt call (failed at its deadline after it started) may stay unsettled
    // before its request is rolled back all the same.
    std::chrono::seconds in_doubt{default_in_doubt};
    LogLevel log_level = default_log_level;
    LogFormat log_format = default_log_format;
    std::chrono::seconds shutdown_grace{default_shutdown_grace};
    // After SIGTERM, how long idle keep-alive connections stay open and are served (within
    // shutdown_grace). Unset: 5 s, or half of a shorter grace.
    std::chrono::seconds drain{default_drain};
    // What a killed replica left half-done is removed within this time by the others' sweep.
    std::chrono::seconds recovery{default_recovery};
    // How long a submit/add-cvs answer is kept for a retry with the same Idempotency-Key.
    std::chrono::seconds idempotency_ttl{default_idempotency_ttl};
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
