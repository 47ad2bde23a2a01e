#include <cvgate/app/application.hpp>

#include <cvgate/adapters/amqp_job_queue.hpp>
#include <cvgate/adapters/mongo_hot_store.hpp>
#include <cvgate/adapters/postgres_cold_store.hpp>
#include <cvgate/adapters/upload_volume.hpp>
#include <cvgate/api/access_policy.hpp>
#include <cvgate/api/job_routes.hpp>
#include <cvgate/api/readiness.hpp>
#include <cvgate/api/service_routes.hpp>
#include <cvgate/clients/postgres/migrations.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>

#include <condition_variable>

namespace cvgate::app {

namespace {

// Rollbacks and clean-up failures, as log lines an operator can act on.
class FlowLog final : public jobs::Observer {
public:
    explicit FlowLog(Logger& logger) : logger_{logger} {}
    void rollback(std::string_view flow, std::string_view stage, std::string_view job_id,
                  std::string_view cause) override {
        logger_.warning("rollback", {{"flow", flow}, {"stage", stage}, {"job_id", job_id}, {"cause", cause}});
    }
    void rollback_failed(std::string_view flow, std::string_view step, std::string_view job_id,
                         std::string_view error) override {
        logger_.error("rollback step failed", {{"flow", flow}, {"step", step}, {"job_id", job_id}, {"error", error}});
    }
    void cleanup_failed(std::string_view job_id, std::string_view error) override {
        logger_.error("hot storage clean-up failed", {{"job_id", job_id}, {"error", error}});
    }

private:
    Logger& logger_;
};

http::ServerOptions server_options(const Config& c, Logger& logger, const api::AccessPolicy& policy) {
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
    o.finalize = [&policy](const http::Request& req, http::Response& res) { policy.decorate(req, res); };
    return o;
}

}  // namespace

struct Application::Dependencies {
    Dependencies(const Config& c, exec::BlockingPool& blocking, Logger& logger)
        : volume{c.upload_volume_path, blocking},
          mongo_client{clients::mongo::Options{.url = c.mongo_url, .database = c.mongo_db_name}, blocking.executor()},
          hot{mongo_client},
          pg_pool{blocking, clients::postgres::PoolOptions{.connection = {.url = c.database_url}}},
          cold{pg_pool},
          publisher{blocking, c.rabbitmq_url},
          queue{publisher, c.jobs_queue},
          flow_log{logger},
          policy{c.api_keys, c.cors_origins} {}

    adapters::UploadVolume volume;
    clients::mongo::Client mongo_client;
    adapters::MongoHotStore hot;
    clients::postgres::Pool pg_pool;
    adapters::PostgresColdStore cold;
    clients::amqp::Publisher publisher;
    adapters::AmqpJobQueue queue;
    FlowLog flow_log;
    api::AccessPolicy policy;

    jobs::Ports ports() { return jobs::Ports{hot, cold, queue, volume, flow_log}; }
};

Application::Application(Config config, int log_fd)
    : config_{std::move(config)},
      logger_{config_.log_level, config_.log_format, log_fd},
      blocking_{config_.blocking_threads},
      deps_{std::make_unique<Dependencies>(config_, blocking_, logger_)} {
    api::add_service_routes(router_);

    api::JobRoutesConfig routes;
    routes.limits = jobs::Limits{config_.max_file_size, config_.max_files, config_.jd_min_length,
                                 config_.jd_max_length};
    routes.form.max_files = config_.max_files;
    routes.form.max_parts = config_.max_files + 64;  // the files, the fields, and some slack
    routes.form.max_field_bytes = std::max<std::size_t>(64 * 1024, config_.jd_max_length * 4 + 1024);
    api::add_job_routes(router_, deps_->ports(), routes, deps_->policy);

    api::ReadinessOptions ready;
    ready.draining = &draining_;
    Dependencies* d = deps_.get();
    ready.checks = {
        {"mongodb", [d]() { return d->hot.ping(); }},
        {"postgresql",
         [d, this]() -> boost::asio::awaitable<void> {
             co_await d->cold.ping();
             if (!migrated_.load()) throw std::runtime_error{"schema migrations not applied yet"};
         }},
        {"rabbitmq", [d]() { return d->queue.ping(); }},
        {"volume", [d]() { return d->volume.check_writable(); }},
    };
    api::add_readiness_route(router_, std::move(ready));

    server_ = std::make_unique<http::Server>(server_options(config_, logger_, deps_->policy), router_);
}

Application::~Application() { shutdown(); }

void Application::start() {
    server_->start();
    logger_.info("listening", {{"address", config_.listen_addr},
                               {"port", static_cast<unsigned>(server_->port())},
                               {"io_threads", config_.io_threads},
                               {"blocking_threads", config_.blocking_threads}});
    migrate_in_background();
}

// Several replicas may start at once: migrate() serialises them under an advisory lock.
// PostgreSQL may not be up yet either: retry, with a growing pause, until it works.
void Application::migrate_in_background() {
    migrator_ = std::thread{[this] {
        std::chrono::milliseconds pause{500};
        while (!draining_.load()) {
            try {
                boost::asio::io_context ioc;
                auto done = boost::asio::co_spawn(ioc, clients::postgres::migrate(deps_->pg_pool),
                                                  boost::asio::use_future);
                ioc.run();
                const int version = done.get();
                migrated_.store(true);
                logger_.info("schema migrated", {{"version", version}});
                return;
            } catch (const std::exception& e) {
                logger_.warning("schema migration failed; retrying",
                                {{"error", e.what()}, {"retry_ms", static_cast<long long>(pause.count())}});
            }
            for (auto waited = std::chrono::milliseconds{0}; waited < pause && !draining_.load();
                 waited += std::chrono::milliseconds{100})
                std::this_thread::sleep_for(std::chrono::milliseconds{100});
            pause = std::min(pause * 2, std::chrono::milliseconds{10'000});
        }
    }};
}

void Application::shutdown() {
    if (stopped_) return;
    stopped_ = true;
    draining_.store(true);  // readiness answers 503 from now on
    logger_.info("shutting down", {{"grace_seconds", static_cast<long long>(config_.shutdown_grace.count())},
                                   {"connections", server_->connections()}});
    server_->shutdown(config_.shutdown_grace);
    if (migrator_.joinable()) migrator_.join();
    try {
        boost::asio::io_context ioc;
        auto closed = boost::asio::co_spawn(ioc, deps_->publisher.close(), boost::asio::use_future);
        ioc.run();
        closed.get();
    } catch (const std::exception& e) {
        logger_.warning("closing the broker connection failed", {{"error", e.what()}});
    }
    blocking_.join();
    logger_.info("stopped");
    logger_.flush();
}

}  // namespace cvgate::app
