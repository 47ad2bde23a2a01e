#include <cvgate/app/crash_recovery.hpp>

#include <cvgate/jobs/recovery.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace cvgate::app {

CrashRecovery::CrashRecovery(adapters::VolumeJournal& journal, jobs::Ports ports,
                             adapters::PostgresIdempotencyStore& keys, Logger& logger,
                             std::chrono::seconds recovery)
    : journal_{journal},
      ports_{ports},
      keys_{keys},
      logger_{logger},
      period_{std::chrono::duration_cast<std::chrono::milliseconds>(recovery) / 6},
      stale_{recovery / 2} {}

CrashRecovery::~CrashRecovery() { stop(); }

void CrashRecovery::start() {
    heartbeat_ = std::thread{[this] { heartbeat_loop(); }};
    sweeper_ = std::thread{[this] { sweep_loop(); }};
}

bool CrashRecovery::pause() {
    std::unique_lock lock{mutex_};
    wake_.wait_for(lock, period_, [this] { return stopping_; });
    return !stopping_;
}

void CrashRecovery::heartbeat_loop() {
    do {
        try {
            journal_.heartbeat();
        } catch (const std::exception& e) {
            logger_.error("volume heartbeat failed", {{"error", e.what()}, {"replica", journal_.replica()}});
        }
    } while (pause());
}

void CrashRecovery::sweep_loop() {
    while (pause()) {
        try {
            sweep_once();
        } catch (const std::exception& e) {
            logger_.warning("recovery sweep failed; retried at the next one", {{"error", e.what()}});
        }
    }
}

void CrashRecovery::sweep_once() {
    for (const auto& orphan : journal_.claim_orphans(stale_)) {
        logger_.warning("undoing a request its dead replica never answered",
                        {{"flow", orphan.intent.flow},
                         {"job_id", orphan.intent.job_id},
                         {"correlation_id", orphan.intent.correlation_id}});
        // The ports' coroutines on a private io_context; their blocking calls go to the pool.
        boost::asio::io_context ioc;
        auto done =
            boost::asio::co_spawn(ioc, jobs::roll_back(ports_, orphan.intent), boost::asio::use_future);
        ioc.run();
        try {
            done.get();
            journal_.recovered(orphan);
        } catch (const std::exception& e) {
            logger_.warning("recovery of a dead replica's request incomplete; retried at the next sweep",
                            {{"job_id", orphan.intent.job_id},
                             {"correlation_id", orphan.intent.correlation_id},
                             {"error", e.what()}});
        }
    }
    if (const auto buried = journal_.bury_dead(stale_); buried > 0)
        logger_.info("removed what dead replicas left on the volume", {{"files", buried}});

    boost::asio::io_context ioc;
    auto purged = boost::asio::co_spawn(ioc, keys_.purge_expired(), boost::asio::use_future);
    ioc.run();
    try {
        purged.get();
    } catch (const std::exception& e) {
        logger_.debug("expired idempotency keys not purged", {{"error", e.what()}});
    }
}

void CrashRecovery::stop() {
    {
        std::lock_guard lock{mutex_};
        if (stopping_) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
    if (sweeper_.joinable()) sweeper_.join();
}

}  // namespace cvgate::app
