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
#include <cvgate/app/driver_logs.hpp>
#include <cvgate/app/metrics.hpp>
#include <cvgate/app/request_log.hpp>
#include <cvgate/clients/postgres/migrations.hpp>
#include <cvgate/jobs/settler.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>

namespace cvgate::app {

namespace {

http::ServerOptions server_options(const Config& c, Logger& logger, Metrics& metrics,
                                   const api::AccessPolicy& policy) {
    http::ServerOptions o = c.server;
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

// A client's options from the configuration, with its share of threads and of waiting calls,
// and what it tells of its calls (none: a readiness probe's, which /readyz times itself).
clients::mongo::Options bounded(clients::mongo::Options o, std::size_t connections, std::size_t pending,
                                clients::CallObserver observer = {}) {
    o.max_connections = connections;
    o.max_pending_calls = pending;
    o.observer = std::move(observer);
    return o;
}

clients::postgres::PoolOptions bounded(clients::postgres::PoolOptions o, std::size_t size,
                                       std::size_t waiting, clients::CallObserver observer = {}) {
    o.size = size;
    o.max_waiting = waiting;
    o.observer = std::move(observer);
    return o;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// cvgate_dependency_call_duration_seconds and cvgate_dependency_errors_total, by `dependency` and
// operation: the calls the adapters name after the port operation they serve. The clients'
// other calls (schema migrations, Idempotency-Keys) are their own business.
clients::CallObserver recorded_as(Metrics& metrics, std::string_view dependency) {
    return [&metrics, dependency](const clients::CallRecord& call) {
        if (!call.name.empty())
            metrics.observe_dependency(dependency, call.name, seconds(call.duration), call.ok);
    };
}

// The job queue's calls are the publisher's own: callers cannot name them (the publisher takes
// no name), so its operations stand for the port's, publish and ping; the queue's declaration,
// once before the first publish, is the adapter's housekeeping.
clients::amqp::PublisherOptions recorded_as_job_queue(clients::amqp::PublisherOptions o, Metrics& metrics) {
    o.observer = [&metrics](const clients::CallRecord& call) {
        if (call.operation == "publish" || call.operation == "ping")
            metrics.observe_dependency("rabbitmq", call.operation, seconds(call.duration), call.ok);
    };
    return o;
}

}  // namespace

// Bulkheads: each dependency's blocking calls run on threads of their own and queue within a
// bound of their own, so one that hangs holds only the requests that need it. Readiness
// probes have their own threads and connections: they never wait behind request traffic.
struct Application::Dependencies {
    Dependencies(const Config& c, Logger& logger, Metrics& metrics)
        : volume_threads{c.blocking_threads},
          mongo_threads{c.blocking_threads},
          postgres_threads{c.blocking_threads},
          broker_threads{2},
          probe_threads{3},
          volume{c.upload_volume_path, volume_threads, recorded_as(metrics, "volume")},
          mongo_client{bounded(c.mongo, c.blocking_threads, c.blocking_threads + c.dependency_queue_limit,
                               recorded_as(metrics, "mongodb")),
                       mongo_threads.executor()},
          mongo_probe{bounded(c.mongo, 1, 4), probe_threads.executor()},
          hot{mongo_client},
          hot_probe{mongo_probe},
          pg_pool{postgres_threads, bounded(c.postgres, c.blocking_threads, c.dependency_queue_limit,
                                            recorded_as(metrics, "postgresql"))},
          pg_probe{probe_threads, bounded(c.postgres, 1, 4)},
          cold{pg_pool},
          cold_probe{pg_probe},
          // A claim's lease: a key whose owner died is free again within RECOVERY_SECONDS, as
          // the rest of what it left half-done; and it outlasts an in-doubt publish.
          keys{pg_pool, c.idempotency_ttl,
               std::max({std::chrono::seconds{2}, c.recovery / 2, c.in_doubt + std::chrono::seconds{10}})},
          publisher{broker_threads, c.rabbitmq_url, recorded_as_job_queue(c.rabbitmq, metrics)},
          queue{publisher, c.jobs_queue},
          flow_log{logger, metrics},
          policy{c.api_keys, c.cors_origins},
          settler{c.in_doubt} {}

    exec::BlockingPool volume_threads;
    exec::BlockingPool mongo_threads;
    exec::BlockingPool postgres_threads;
    exec::BlockingPool broker_threads;
    exec::BlockingPool probe_threads;
    adapters::UploadVolume volume;
    clients::mongo::Client mongo_client;
    clients::mongo::Client mongo_probe;
    adapters::MongoHotStore hot;
    adapters::MongoHotStore
        hot_probe;  // the ports on the probes' clients: readiness sees the domain's errors
    clients::postgres::Pool pg_pool;
    clients::postgres::Pool pg_probe;
    adapters::PostgresColdStore cold;
    adapters::PostgresColdStore cold_probe;
    adapters::PostgresIdempotencyStore keys;
    clients::amqp::Publisher publisher;
    adapters::AmqpJobQueue queue;
    FlowLog flow_log;
    api::AccessPolicy policy;
    jobs::Settler settler;  // last: stopped first, before what its work uses

    jobs::Ports ports() { return jobs::Ports{hot, cold, queue, volume, flow_log, settler}; }

    // Waits for queued work to finish, then joins every thread.
    void join_threads() {
        for (auto* pool :
             {&broker_threads, &mongo_threads, &postgres_threads, &volume_threads, &probe_threads})
            pool->join();
    }
};

Application::Application(Config config, int log_fd)
    : config_{std::move(config)},
      logger_{config_.log_level, config_.log_format, log_fd},
      driver_logs_{std::make_unique<DriverLogs>(logger_)},
      metrics_{std::make_unique<Metrics>()},
      deps_{std::make_unique<Dependencies>(config_, logger_, *metrics_)} {
    api::add_service_routes(router_);
    api::add_docs_routes(router_);

    api::JobRoutesConfig routes;
    routes.limits = config_.upload_limits;
    routes.form.max_files = routes.limits.max_files;
    routes.form.max_parts = routes.limits.max_files + 64;  // the files, the fields, and some slack
    routes.form.max_field_bytes = std::max<std::size_t>(64 * 1024, routes.limits.jd_max_length * 4 + 1024);
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
        {"mongodb", [d]() { return d->hot_probe.ping(); }},
        {"postgresql",
         [d, this]() -> boost::asio::awaitable<void> {
             co_await d->cold_probe.ping();
             if (!migrated_.load()) throw std::runtime_error{"schema migrations not applied yet"};
         }},
        {"rabbitmq", [d]() { return d->queue.ping(); }},
        {"volume", [d]() { return d->volume.check_writable(); }},
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
    m->add_gauge("cvgate_blocking_pool_threads", "Threads of each dependency's blocking pool.",
                 "pool=\"mongodb\"", [d] { return static_cast<double>(d->mongo_threads.size()); });
    m->add_gauge("cvgate_blocking_pool_threads", "", "pool=\"postgresql\"",
                 [d] { return static_cast<double>(d->postgres_threads.size()); });
    m->add_gauge("cvgate_blocking_pool_threads", "", "pool=\"volume\"",
                 [d] { return static_cast<double>(d->volume_threads.size()); });
    m->add_gauge("cvgate_in_doubt_pending", "In-doubt calls whose requests wait for them to settle.", "",
                 [d] { return static_cast<double>(d->settler.pending()); });
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
    logger_.info("listening", {{"address", config_.server.address},
                               {"port", static_cast<unsigned>(server_->port())},
                               {"io_threads", config_.server.io_threads},
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
    const auto stop_by = exec::Deadline::after(config_.shutdown_grace);
    server_->shutdown(config_.shutdown_grace, config_.drain);
    // In-doubt work gets what is left of the grace; what it cannot finish stays journaled,
    // and crash recovery (here after a restart, or on another replica) undoes it.
    deps_->settler.stop(stop_by.capped(exec::Deadline::after(config_.in_doubt)));
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
    deps_->join_threads();
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
