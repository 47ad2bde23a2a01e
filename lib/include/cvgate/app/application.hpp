#pragma once
// cvgate assembled from its configuration: logger, blocking pools, dependency clients (their
// call observers feeding the metrics) and adapters, router with every route, HTTP server.
// main() only parses the configuration, starts this and waits for a signal. With config.hpp,
// what an embedding application includes (apps/cvgate/main.cpp does, and nothing else); the
// wiring's parts (metrics, request log, crash recovery, driver logs) are internal, in
// lib/src/cvgate/app/.

#include <cvgate/app/config.hpp>
#include <cvgate/app/logging.hpp>
#include <cvgate/http/router.hpp>
#include <cvgate/http/server.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

namespace cvgate::app {

class DriverLogs;
class Metrics;
class CrashRecovery;

class Application {
public:
    // Builds everything and binds the listening port; throws on failure. Connects to no
    // dependency yet: start() does, in the background.
    explicit Application(Config config, int log_fd = 1);
    ~Application();

    std::uint16_t port() const noexcept { return server_->port(); }
    const Config& config() const noexcept { return config_; }
    Logger& logger() noexcept { return logger_; }

    // Serves at once; schema migrations run in the background, retried until they succeed
    // (readiness stays 503 until then).
    void start();
    // Graceful shutdown within the configured SHUTDOWN_GRACE_SECONDS; blocks until done.
    void shutdown();

    struct Dependencies;

private:
    void migrate_in_background();

    Config config_;
    Logger logger_;
    std::unique_ptr<DriverLogs> driver_logs_;  // after logger_, before the clients: outlives them
    std::unique_ptr<Metrics> metrics_;
    std::unique_ptr<Dependencies> deps_;
    std::unique_ptr<CrashRecovery> recovery_;
    std::atomic<bool> draining_{false};
    std::atomic<bool> migrated_{false};
    http::Router router_;
    std::unique_ptr<http::Server> server_;
    std::thread migrator_;
    bool stopped_ = false;
};

}  // namespace cvgate::app
