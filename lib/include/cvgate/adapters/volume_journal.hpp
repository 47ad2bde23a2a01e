#pragma once
// Who is doing what on the shared upload volume, so that a live replica can undo what a killed
// one left half-done without ever touching another live replica's work in progress.
//
// Everything lives flat in the staging directory `.incoming/`, named by the replica that owns
// it (a fresh UUID per process):
//   {replica}.alive            heartbeat: its mtime is refreshed every RECOVERY_SECONDS / 6
//   {replica}.{uuid}.part      an upload being received
//   {replica}.{intent}.intent  a submit/add-cvs in progress (jobs::Intent, JSON)
//   {replica}.{intent}.recovering  a dead replica's intent this replica is undoing
// A replica is dead when its heartbeat is older than RECOVERY_SECONDS / 2, measured against
// the mtime of our own fresh heartbeat: one clock, the file server's, whatever the replicas'
// clocks say. The heartbeat runs on a thread of its own, so a saturated blocking pool or a
// hung dependency never makes a live replica look dead. Every call here is blocking.

#include <cvgate/jobs/ports.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cvgate::adapters {

class VolumeJournal {
public:
    // Registers this process as a new replica (its heartbeat file) in `incoming`.
    explicit VolumeJournal(std::string incoming);

    const std::string& replica() const noexcept { return replica_; }
    // Path of a new staged file of this replica.
    std::string staged_path(const std::string& unique) const;

    void heartbeat();
    void record(const jobs::Intent& intent);
    void forget(std::string_view intent_id);

    struct Orphan {
        std::string path;  // the intent file, renamed to this replica's `.recovering`
        jobs::Intent intent;
    };
    // Takes over the intents of dead replicas (an atomic rename each, so two sweepers never
    // undo one twice) and this replica's own interrupted recoveries.
    std::vector<Orphan> claim_orphans(std::chrono::seconds stale);
    void recovered(const Orphan& orphan);
    // Removes dead replicas that have no intent left: their staged files and heartbeat.
    // Also staged files of the format before replicas (untouched for 15 minutes). How many
    // files went.
    std::size_t bury_dead(std::chrono::seconds stale);

    // At shutdown, once no request runs any more: this replica's staged files go, and its
    // heartbeat too unless intents remain (requests cut by the end of the grace period:
    // another replica undoes them once the heartbeat is stale).
    void retire();

private:
    std::string incoming_;
    std::string replica_;
};

}  // namespace cvgate::adapters
