// POST /jobs/submit, as CONTRACT.md numbers its steps: disk -> hot storage -> queue -> 202, each
// with its rollback (jobs/rollback.hpp). The fault points are where the crash tests kill the
// process (test/integration/recovery_test.cpp).

#include <cvgate/jobs/fault_point.hpp>
#include <cvgate/jobs/flows.hpp>
#include <cvgate/jobs/ids.hpp>
#include <cvgate/jobs/rollback.hpp>

namespace cvgate::jobs {

Task<Accepted> submit(Ports p, const Limits& limits, Intake& intake, RequestContext request) {
    const Form form = validate_form(intake, limits);
    require_files(intake);
    Accepted out{
        .job_id = new_job_id(), .correlation_id = request.correlation_id, .skipped = intake.skipped()};
    // The journal entry says "the directory and maybe the document": both are this job's own,
    // so undoing both is right whichever step a killed process reached.
    Intent intent{.id = new_job_id(),
                  .flow = "submit",
                  .job_id = out.job_id,
                  .correlation_id = request.correlation_id,
                  .hot = "inserted"};
    Rollback undo{p, "submit", "the job was not created", request, std::move(intent)};
    fault_point("submit.staged");

    // 1. Disk: the files under their final names, flushed. Rollback: the job directory.
    undo.push(Undo::files);
    out.cvs = co_await undo.attempt(disk, place_files(p.uploads, intake, out.job_id, 0, undo.intent()));
    fault_point("submit.placed");

    // 2. Hot storage: the job document. Rollback: the document, also when the insert is in
    //    doubt (it may land after its deadline).
    const auto document =
        hot_document(out.job_id, out.correlation_id, form.jd_text, out.cvs.size(), utc_timestamp());
    undo.push(Undo::hot_change);
    co_await undo.attempt(hot_storage, undo.changing_hot("inserted", p.hot.insert(document)));
    fault_point("submit.inserted");

    // 3. Queue, with the broker's confirm. In doubt, the job waits for the broker's word.
    const auto message = job_message(out.job_id, out.correlation_id, form.jd_text, form.use_delay, out.cvs);
    co_await undo.publish(p.queue.publish(message, out.correlation_id, request.trace), out);

    // 4. Answer 202: confirmed, the job is complete and valid whatever happens to this process now.
    co_await undo.done();
    fault_point("submit.published");
    p.observer.accepted("submit", out.cvs.size());
    co_return out;
}

}  // namespace cvgate::jobs
