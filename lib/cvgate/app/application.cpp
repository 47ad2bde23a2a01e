#include <cvgate/app/application.hpp>

#include <cvgate/adapters/amqp_job_queue.hpp>
#include <cvgate/adapters/mongo_hot_store.hpp>
#include <cvgate/adapters/postgres_cold_store.hpp>
#include <cvgate/adapters/postgres_idempotency_store.hpp>
#include <cvgate/adapters/upload_volume.hpp>
#include <cvgate/api/access_policy.hpp>
#include <cvgate/api/docs_routes.hpp>
#include <cvgate/api/job_routes.hpp>
#include <cvgate/api/readiness.hpp>
#include <cvgate/api/response_headers.hpp>
#include <cvgate/api/service_routes.hpp>
#include <cvgate/app/crash_recovery.hpp>
#include <cvgate/app/measured_ports.hpp>
#include <cvgate/app/metrics.hpp>
#include <cvgate/app/request_log.hpp>
#include <cvgate/clients/postgres/migrations.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>

#include <condition_variable>

namespace cvgate::app {

namespace {

http::ServerOptions server_options(const Config& c, Logger& logger, Metrics& metrics,
                                   const api::AccessPolicy& policy) {
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
    o.on_access = [&logger, &metrics](const http::AccessRecord& r) {
        metrics.observe_request(r.route, boost::beast::http::to_string(r.method), r.status,
                                std::chrono::duration<double>(r.duration).count(), r.body_bytes_in);
        log_access(logger, r);
    };
    o.on_error = [&logger](const http::Request& req, std::string_view what) {
        log_unhandled_error(logger, req, what);
    };
    api::use_cvgate_headers(o, &policy);
    return o;
}

}  // namespace

struct Application::Dependencies {
    Dependencies(const Config& c, exec::BlockingPool& blocking, Logger& logger, Metrics& metrics)
        : volume{c.upload_volume_path, blocking},
          mongo_client{clients::mongo::Options{.url = c.mongo_url, .database = c.mongo_db_name},
                       blocking.executor()},
          hot{mongo_client},
          pg_pool{blocking, clients::postgres::PoolOptions{.connection = {.url = c.database_url}}},
          cold{pg_pool},
          // A claim's lease: a key whose owner died is free again within RECOVERY_SECONDS, as
          // the rest of what it left half-done.
          keys{pg_pool, c.idempotency_ttl, std::max(std::chrono::seconds{2}, c.recovery / 2)},
          publisher{blocking, c.rabbitmq_url},
          queue{publisher, c.jobs_queue},
          measured_hot{hot, metrics},
          measured_cold{cold, metrics},
          measured_queue{queue, metrics},
          measured_volume{volume, metrics},
          flow_log{logger, metrics},
          policy{c.api_keys, c.cors_origins} {}

    adapters::UploadVolume volume;
    clients::mongo::Client mongo_client;
    adapters::MongoHotStore hot;
    clients::postgres::Pool pg_pool;
    adapters::PostgresColdStore cold;
    adapters::PostgresIdempotencyStore keys;
    clients::amqp::Publisher publisher;
    adapters::AmqpJobQueue queue;
    MeasuredHotStore measured_hot;
    MeasuredColdStore measured_cold;
    MeasuredJobQueue measured_queue;
    MeasuredUploadStore measured_volume;
    FlowLog flow_log;
    api::AccessPolicy policy;

    jobs::Ports ports() {
        return jobs::Ports{measured_hot, measured_cold, measured_queue, measured_volume, flow_log};
    }
};

Application::Application(Config config, int log_fd)
    : config_{std::move(config)},
      logger_{config_.log_level, config_.log_format, log_fd},
      driver_logs_{logger_},
      blocking_{config_.blocking_threads},
      metrics_{std::make_unique<Metrics>()},
      deps_{std::make_unique<Dependencies>(config_, blocking_, logger_, *metrics_)} {
    api::add_service_routes(router_);
    api::add_docs_routes(router_);

    api::JobRoutesConfig routes;
    routes.limits =
        jobs::Limits{config_.max_file_size, config_.max_files, config_.jd_min_length, config_.jd_max_length};
    routes.form.max_files = config_.max_files;
    routes.form.max_parts = config_.max_files + 64;  // the files, the fields, and some slack
    routes.form.max_field_bytes = std::max<std::size_t>(64 * 1024, config_.jd_max_length * 4 + 1024);
    routes.idempotency = &deps_->keys;
    api::add_job_routes(router_, deps_->ports(), routes, deps_->policy);

    api::ReadinessOptions ready;
    ready.draining = &draining_;
    ready.on_failure = [this](std::string_view check, std::string_view category, std::string_view detail) {
        logger_.warning("readiness check failed",
                        {{"check", check}, {"category", category}, {"error", detail}});
    };
    Dependencies* d = deps_.get();
    ready.checks = {
        {"mongodb", [d]() { return d->measured_hot.ping(); }},
        {"postgresql",
         [d, this]() -> boost::asio::awaitable<void> {
             co_await d->measured_cold.ping();
             if (!migrated_.load()) throw std::runtime_error{"schema migrations not applied yet"};
         }},
        {"rabbitmq", [d]() { return d->measured_queue.ping(); }},
        {"volume", [d]() { return d->measured_volume.check_writable(); }},
    };
    api::add_readiness_route(router_, std::move(ready));

    Metrics* m = metrics_.get();
    router_.add(http::Verb::get, "/metrics", [m](http::Request&) -> boost::asio::awaitable<http::Response> {
        http::Response res{http::Status::ok, 11};
        res.set(http::Field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = m->render();
        co_return res;
    });
    metrics_->set_routes(router_.patterns());

    server_ =
        std::make_unique<http::Server>(server_options(config_, logger_, *metrics_, deps_->policy), router_);

    http::Server* server = server_.get();
    m->add_gauge("cvgate_http_requests_in_flight", "Requests being served.", "",
                 [server] { return static_cast<double>(server->requests_in_flight()); });
    m->add_gauge("cvgate_http_connections", "Open client connections.", "",
                 [server] { return static_cast<double>(server->connections()); });
    m->add_gauge("cvgate_blocking_pool_threads", "Threads of the blocking pool.", "",
                 [this] { return static_cast<double>(blocking_.size()); });
    m->add_gauge(
        "cvgate_pool_connections", "PostgreSQL pool: its bound, open connections, free slots, waiters.",
        "pool=\"postgresql\",state=\"size\"", [d] { return static_cast<double>(d->pg_pool.stats().size); });
    m->add_gauge("cvgate_pool_connections", "", "pool=\"postgresql\",state=\"open\"",
                 [d] { return static_cast<double>(d->pg_pool.stats().open); });
    m->add_gauge("cvgate_pool_connections", "", "pool=\"postgresql\",state=\"idle\"",
                 [d] { return static_cast<double>(d->pg_pool.stats().idle); });
    m->add_gauge("cvgate_pool_connections", "", "pool=\"postgresql\",state=\"waiting\"",
                 [d] { return static_cast<double>(d->pg_pool.stats().waiting); });
}

// The driver log sink (driver_logs_) outlives the clients by member order.
Application::~Application() { shutdown(); }

void Application::start() {
    server_->start();
    logger_.info("listening", {{"address", config_.listen_addr},
                               {"port", static_cast<unsigned>(server_->port())},
                               {"io_threads", config_.io_threads},
                               {"blocking_threads", config_.blocking_threads}});
    migrate_in_background();
    recovery_ = std::make_unique<CrashRecovery>(deps_->volume.journal(), deps_->ports(), deps_->keys, logger_,
                                                config_.recovery);
    recovery_->start();
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
                                   {"drain_seconds", static_cast<long long>(config_.drain.count())},
                                   {"connections", server_->connections()}});
    server_->shutdown(config_.shutdown_grace, config_.drain);
    if (migrator_.joinable()) migrator_.join();
    if (recovery_) recovery_->stop();
    try {
        boost::asio::io_context ioc;
        auto closed = boost::asio::co_spawn(ioc, deps_->publisher.close(), boost::asio::use_future);
        ioc.run();
        closed.get();
    } catch (const std::exception& e) {
        logger_.warning("closing the broker connection failed", {{"error", e.what()}});
    }
    blocking_.join();
    // No request runs any more: uploads cut by the end of the grace period leave nothing.
    try {
        deps_->volume.journal().retire();
    } catch (const std::exception& e) {
        logger_.warning("retiring from the upload volume failed", {{"error", e.what()}});
    }
    logger_.info("stopped");
    logger_.flush();
}

}  // namespace cvgate::app
