#pragma once
// The upload volume as the domain's UploadStore: files are received under `.incoming/` on
// the same file system, then renamed into `{root}/{job_id}/{cv_id}{ext}` and flushed, so the
// parser never sees a partial file. Every path is built from validated ids, never from a
// client's file name. All file system calls run on the blocking pool, and the observer is told
// of each (clients/call_observer.hpp) under the port operation it serves, a staged file's
// writes under "write".

#include <cvgate/adapters/volume_journal.hpp>
#include <cvgate/clients/call_observer.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/jobs/ports.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace cvgate::adapters {

class UploadVolume final : public jobs::UploadStore {
public:
    // Creates `root` and `root/.incoming` if needed and registers this process as a replica
    // (volume_journal.hpp); what crashed replicas left is the sweep's (journal()).
    UploadVolume(std::string root, exec::BlockingPool& pool, clients::CallObserver observer = {});

    jobs::Task<std::unique_ptr<jobs::StagedFile>> stage() override;
    jobs::Task<std::vector<std::string>> place(std::string_view job_id,
                                               std::vector<jobs::Placement> files) override;
    jobs::Task<void> remove(std::string_view job_id, std::vector<std::string> names) override;
    jobs::Task<void> remove_job(std::string_view job_id) override;
    jobs::Task<std::size_t> remove_cv(std::string_view job_id, std::string_view cv_id) override;
    jobs::Task<std::int64_t> next_cv_index(std::string_view job_id) override;
    jobs::Task<void> check_writable() override;
    jobs::Task<void> record(const jobs::Intent& intent) override;
    jobs::Task<void> forget(std::string_view intent_id) override;

    VolumeJournal& journal() noexcept { return *journal_; }

    // Staged files currently open (for tests: a rejected upload leaves none).
    std::size_t staged_on_disk() const;

private:
    std::string job_dir(std::string_view job_id) const;
    // Every call but a staged file's writes passes here: run on the pool, the observer told.
    template <typename Work>
    auto run(std::string_view operation, Work work);

    std::string root_;
    std::string incoming_;
    exec::BlockingPool& pool_;
    std::shared_ptr<const clients::CallObserver> observer_;  // shared with the staged files
    std::unique_ptr<VolumeJournal> journal_;
};

}  // namespace cvgate::adapters
