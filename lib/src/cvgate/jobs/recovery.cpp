#include <cvgate/jobs/recovery.hpp>

#include <stdexcept>

namespace cvgate::jobs {

Task<bool> undo_hot(HotStore& hot, const Intent& intent) {
    if (intent.hot == "inserted" || intent.hot == "created") co_return co_await hot.remove(intent.job_id);
    if (intent.hot == "reopened") {
        co_await hot.undo_reopen(intent.job_id, intent.added, intent.old_status);
        co_return true;
    }
    if (intent.hot == "reopening")
        co_return co_await hot.undo_reopen_if_applied(intent.job_id, intent.added, intent.expected_before,
                                                      intent.old_status);
    co_return false;
}

Task<void> undo_files(UploadStore& uploads, const Intent& intent) {
    if (intent.flow == "submit") {
        co_await uploads.remove_job(intent.job_id);
    } else {
        std::vector<std::string> names = intent.files;  // named: see GCC 12 note in exec/offload.hpp
        co_await uploads.remove(intent.job_id, std::move(names));
    }
}

Task<void> roll_back(Ports p, const Intent& intent) {
    const std::string flow = "recovery:" + intent.flow;
    // The dead request's correlation id; its trace is not journaled.
    const RequestContext dead{intent.correlation_id, {}};
    p.observer.rollback(flow, intent.hot.empty() ? "disk" : "hot_storage", intent.job_id, "its process died",
                        dead);
    bool failed = false;
    try {
        co_await undo_hot(p.hot, intent);
    } catch (const std::exception& e) {
        failed = true;
        p.observer.rollback_failed(flow, "undo hot storage", intent.job_id, e.what(), dead);
    }
    try {
        co_await undo_files(p.uploads, intent);
    } catch (const std::exception& e) {
        failed = true;
        p.observer.rollback_failed(flow, "remove files", intent.job_id, e.what(), dead);
    }
    if (failed)
        throw std::runtime_error{"recovery of job " + intent.job_id +
                                 " incomplete; retried at the next sweep"};
}

}  // namespace cvgate::jobs
