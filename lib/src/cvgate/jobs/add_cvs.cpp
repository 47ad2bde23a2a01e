// POST /jobs/{job_id}/add-cvs, as CONTRACT.md orders it: files to disk -> hot storage (reopen
// the document, or re-create it from cold storage) -> a message for the new files only -> 202,
// each with its rollback (jobs/rollback.hpp). The fault points are where the crash tests kill
// the process (test/integration/recovery_test.cpp).

#include <cvgate/jobs/cv_counter.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/fault_point.hpp>
#include <cvgate/jobs/flows.hpp>
#include <cvgate/jobs/ids.hpp>
#include <cvgate/jobs/rollback.hpp>
#include <cvgate/jobs/settler.hpp>
#include <cvgate/text/json_fields.hpp>

namespace cvgate::jobs {
namespace {

using text::integer_field;
using text::string_field;

// How many times an add-cvs reads the document again when its reopen found it changed.
constexpr int max_reopen_tries = 8;

// What the new files' message says of the job, as the hot document or the cold job has it.
struct JobAsStored {
    std::string correlation_id;
    std::string jd_text;
    bool resumed = false;  // the hot document was re-created from cold storage
};

// Step 2: reopen the hot document, or re-create it from cold storage when the job was already
// synced and its document is gone. The reopen is a compare-and-set of expected_files, retried
// when a concurrent change got there first, so that one whose reply was lost can be checked.
// The journal says "reopening" before the call (a process killed mid-call is undone too), then
// what was done.
Task<JobAsStored> reopen_or_recreate(Rollback& undo, Ports& p, const std::string& job_id,
                                     const std::optional<boost::json::object>& hot,
                                     std::optional<ColdJob>& cold, std::size_t files) {
    Intent& intent = undo.intent();
    JobAsStored job{hot ? string_field(*hot, "correlation_id").value_or("") : cold->correlation_id,
                    hot ? string_field(*hot, "jd_text").value_or("") : cold->jd_text};
    std::optional<boost::json::object> current = hot;
    std::optional<boost::json::object> before;
    for (int tries = 0; current && !before; ++tries) {
        if (tries == max_reopen_tries)
            throw Error{ErrorKind::unavailable, "The job is changing too fast: no CVs were added; retry"};
        intent.hot = "reopening";
        intent.expected_before = integer_field(*current, "expected_files").value_or(0);
        intent.old_status = string_field(*current, "status").value_or("");
        co_await p.uploads.record(intent);
        before = co_await undo.changing_hot("reopening",
                                            p.hot.reopen(job_id, intent.added, intent.expected_before));
        fault_point("add_cvs.reopening");  // applied, and the journal does not say so yet
        if (before) break;
        intent.hot.clear();  // not applied: the document is gone or changed; read it again
        current = co_await p.hot.find(job_id);
    }
    if (before) {
        intent.hot = "reopened";
        job.correlation_id = string_field(*before, "correlation_id").value_or("");
    } else {
        if (!cold) cold = co_await p.cold.find(job_id);  // synced between our reads
        if (!cold) throw Error{ErrorKind::not_found, "Job not found"};
        job.correlation_id = cold->correlation_id;
        job.jd_text = cold->jd_text;
        // Named first (not a ?: inside the co_await): see the GCC 12 note in exec/offload.hpp.
        std::string created_at = cold->created_at;
        if (created_at.empty()) created_at = utc_timestamp();
        const auto document = hot_document(job_id, job.correlation_id, job.jd_text, files, created_at);
        co_await undo.changing_hot("created", p.hot.insert(document));
        job.resumed = true;
    }
    co_await p.uploads.record(intent);
    co_return job;
}

}  // namespace

Task<Accepted> add_cvs(Ports p, const Limits& limits, std::string job_id, Intake& intake,
                       RequestContext request) {
    refuse_while_settling(p.settler, job_id);
    auto hot = co_await p.hot.find(job_id);
    std::optional<ColdJob> cold = co_await p.cold.find(job_id);
    if (!hot && !cold) throw Error{ErrorKind::not_found, "Job not found"};
    const Form form = validate_form(intake, limits);
    require_files(intake);

    Accepted out{.job_id = job_id, .skipped = intake.skipped()};
    const auto added = static_cast<std::int64_t>(intake.accepted_count());
    // The new cv ids, from the job's counter in cold storage: atomic across replicas, never
    // lowered, whatever became of the files (the results worker removes the job directory)
    // or of erased candidates.
    const std::int64_t seed = co_await counter_seed(p, job_id, hot, cold);
    const std::int64_t first = co_await p.cold.allocate_cv_indexes(job_id, added, seed);
    Intent intent{.id = new_job_id(),
                  .flow = "add_cvs",
                  .job_id = job_id,
                  .correlation_id = request.correlation_id,
                  .added = added};
    Rollback undo{p, "add_cvs", "no CVs were added", request, std::move(intent)};
    fault_point("add_cvs.staged");

    // 1. Disk: the new files. Rollback: those files (a failed place() leaves none of them).
    out.cvs = co_await undo.attempt(disk, place_files(p.uploads, intake, job_id, first, undo.intent()));
    undo.push(Undo::files);
    fault_point("add_cvs.placed");

    // 2. Hot storage: the document reopened or re-created. Rollback: the change the journal
    //    names — `$inc` back and the old status, or the re-created document.
    undo.push(Undo::hot_change);
    auto reopen = reopen_or_recreate(undo, p, job_id, hot, cold, out.cvs.size());
    const JobAsStored job = co_await undo.attempt(hot_storage, std::move(reopen));
    out.resumed = job.resumed;
    fault_point("add_cvs.reopened");

    // 3. Queue: a message for the new files only, with the job's correlation id.
    out.correlation_id = job.correlation_id.empty() ? request.correlation_id : job.correlation_id;
    const auto message = job_message(job_id, out.correlation_id, job.jd_text, form.use_delay, out.cvs);
    co_await undo.publish(p.queue.publish(message, out.correlation_id, request.trace), out);

    // 4. Answer 202.
    co_await undo.done();
    fault_point("add_cvs.published");
    p.observer.accepted("add_cvs", out.cvs.size());
    co_return out;
}

}  // namespace cvgate::jobs
