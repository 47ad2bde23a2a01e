#pragma once
// cvgate assembled from its configuration: logger, blocking pool, router with every route,
// HTTP server. main() only parses the configuration, starts this and waits for a signal.

#include <cvgate/app/config.hpp>
#include <cvgate/app/logging.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/http/router.hpp>
#include <cvgate/http/server.hpp>

#include <cstdint>
#include <memory>

namespace cvgate::app {

class Application {
public:
    // Builds everything and binds the listening port; throws on failure.
    explicit Application(Config config, int log_fd = 1);
    ~Application();

    std::uint16_t port() const noexcept { return server_->port(); }
    const Config& config() const noexcept { return config_; }
    Logger& logger() noexcept { return logger_; }

    void start();
    // Graceful shutdown within the configured SHUTDOWN_GRACE_SECONDS; blocks until done.
    void shutdown();

private:
    Config config_;
    Logger logger_;
    exec::BlockingPool blocking_;
    http::Router router_;
    std::unique_ptr<http::Server> server_;
};

}  // namespace cvgate::app
