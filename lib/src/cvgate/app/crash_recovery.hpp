#pragma once
// CONTRACT.md, "Crash safety": every replica keeps its heartbeat on the volume fresh and sweeps,
// every RECOVERY_SECONDS / 6, what dead replicas left half-done (their staged uploads and the
// submits/add-cvs they never answered, undone as their rollback would have), plus expired
// Idempotency-Keys. A replica is dead once its heartbeat is RECOVERY_SECONDS / 2 old, so what
// it left is gone within RECOVERY_SECONDS of its death (adapters/volume_journal.hpp).

#include <cvgate/adapters/postgres_idempotency_store.hpp>
#include <cvgate/adapters/volume_journal.hpp>
#include <cvgate/app/logging.hpp>
#include <cvgate/jobs/ports.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cvgate::app {

class CrashRecovery {
public:
    CrashRecovery(adapters::VolumeJournal& journal, jobs::Ports ports,
                  adapters::PostgresIdempotencyStore& keys, Logger& logger, std::chrono::seconds recovery);
    ~CrashRecovery();

    // The heartbeat and the sweep, each on a thread of its own.
    void start();
    // Stops both (waits for a sweep under way). The owner then retires the replica from the
    // volume (VolumeJournal::retire) once no request runs any more.
    void stop();

private:
    void heartbeat_loop();
    void sweep_loop();
    void sweep_once();
    bool pause();  // false once stopping

    adapters::VolumeJournal& journal_;
    jobs::Ports ports_;
    adapters::PostgresIdempotencyStore& keys_;
    Logger& logger_;
    std::chrono::milliseconds period_;
    std::chrono::seconds stale_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread heartbeat_;
    std::thread sweeper_;
};

}  // namespace cvgate::app
