#pragma once
// The upload volume as the domain's UploadStore: files are received under `.incoming/` on
// the same file system, then renamed into `{root}/{job_id}/{cv_id}{ext}` and flushed, so the
// parser never sees a partial file. Every path is built from validated ids, never from a
// client's file name. All file system calls run on the blocking pool.

#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/jobs/ports.hpp>

#include <string>

namespace cvgate::adapters {

class UploadVolume final : public jobs::UploadStore {
public:
    // Creates `root` and `root/.incoming` if needed and removes staged files a crash left
    // behind (untouched for 15 minutes: other replicas stage their live uploads there too).
    UploadVolume(std::string root, exec::BlockingPool& pool);

    jobs::Task<std::unique_ptr<jobs::StagedFile>> stage() override;
    jobs::Task<std::vector<std::string>> place(std::string_view job_id,
                                               std::vector<jobs::Placement> files) override;
    jobs::Task<void> remove(std::string_view job_id, std::vector<std::string> names) override;
    jobs::Task<void> remove_job(std::string_view job_id) override;
    jobs::Task<std::size_t> remove_cv(std::string_view job_id, std::string_view cv_id) override;
    jobs::Task<std::int64_t> next_cv_index(std::string_view job_id) override;
    jobs::Task<void> check_writable() override;

    const std::string& root() const noexcept { return root_; }
    // Staged files currently open (for tests: a rejected upload leaves none).
    std::size_t staged_on_disk() const;

private:
    std::string job_dir(std::string_view job_id) const;

    std::string root_;
    std::string incoming_;
    exec::BlockingPool& pool_;
};

}  // namespace cvgate::adapters
