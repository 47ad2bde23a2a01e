#include <cvgate/app/application.hpp>

#include <cvgate/api/service_routes.hpp>

#include <boost/beast/http/verb.hpp>

namespace cvgate::app {
namespace {

http::ServerOptions server_options(const Config& c, Logger& logger) {
    http::ServerOptions o;
    o.address = c.listen_addr;
    o.port = c.port;
    o.io_threads = c.io_threads;
    o.limits.header_limit = c.max_header_size;
    o.limits.max_body_size = c.max_body_size;
    o.limits.max_connections = c.max_connections;
    o.limits.header_timeout = c.header_timeout;
    o.limits.body_timeout = c.body_timeout;
    o.limits.idle_timeout = c.idle_timeout;
    o.on_access = [&logger](const http::AccessRecord& r) {
        if (!logger.enabled(LogLevel::info)) return;
        logger.info("request", {{"method", boost::beast::http::to_string(r.method)},
                                {"path", r.target},
                                {"route", r.route},
                                {"status", r.status},
                                {"bytes_in", r.body_bytes_in},
                                {"bytes_out", r.body_bytes_out},
                                {"duration_ms", static_cast<double>(r.duration.count()) / 1000.0},
                                {"correlation_id", r.correlation_id}});
    };
    o.on_error = [&logger](const http::Request& req, std::string_view what) {
        logger.error("unhandled error", {{"route", req.route()},
                                         {"error", what},
                                         {"correlation_id", req.correlation_id()}});
    };
    return o;
}

}  // namespace

Application::Application(Config config, int log_fd)
    : config_{std::move(config)},
      logger_{config_.log_level, config_.log_format, log_fd},
      blocking_{config_.blocking_threads} {
    api::add_service_routes(router_);
    server_ = std::make_unique<http::Server>(server_options(config_, logger_), router_);
}

Application::~Application() { shutdown(); }

void Application::start() {
    server_->start();
    logger_.info("listening", {{"address", config_.listen_addr},
                               {"port", static_cast<unsigned>(server_->port())},
                               {"io_threads", config_.io_threads},
                               {"blocking_threads", config_.blocking_threads}});
}

void Application::shutdown() {
    if (server_->draining()) return;
    logger_.info("shutting down", {{"grace_seconds", static_cast<long long>(config_.shutdown_grace.count())},
                                   {"connections", server_->connections()}});
    server_->shutdown(config_.shutdown_grace);
    blocking_.join();
    logger_.info("stopped");
    logger_.flush();
}

}  // namespace cvgate::app
