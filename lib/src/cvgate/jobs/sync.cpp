// POST /jobs/{job_id}/sync, as CONTRACT.md numbers its steps: check -> incremental sync in one
// cold-storage transaction -> clean-up of exactly the hot version synced -> 200.

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/flows.hpp>
#include <cvgate/text/json_fields.hpp>

#include <boost/json/array.hpp>

namespace cvgate::jobs {

using text::array_size;
using text::integer_field;
using text::string_field;

Task<Synced> sync_job(Ports p, std::string job_id, RequestContext request) {
    Synced out;
    // 1. Check.
    auto doc = co_await p.hot.find(job_id);
    if (!doc) {
        auto results = co_await p.cold.results(job_id);
        if (!results) throw Error{ErrorKind::not_found, "Job not found"};
        out.job = std::move(*results);
        out.already_synced = true;
        co_return out;
    }
    HotVersion version{string_field(*doc, "status").value_or(""), array_size(*doc, "results"),
                       array_size(*doc, "errors")};
    if (version.status != "complete") {
        throw Error{
            ErrorKind::conflict,
            boost::json::object{{"message", "Job is not complete yet; sync it once processing has finished"},
                                {"status", version.status},
                                {"processed", static_cast<std::int64_t>(version.results + version.errors)},
                                {"expected_files", integer_field(*doc, "expected_files").value_or(0)}},
            "job not complete"};
    }

    // 2. Incremental sync, one transaction, deduplicated by (job_id, cv_id).
    SyncBatch batch{job_id,
                    string_field(*doc, "correlation_id").value_or(""),
                    string_field(*doc, "jd_text").value_or(""),
                    string_field(*doc, "created_at").value_or(""),
                    {},
                    {}};
    if (const auto* r = doc->if_contains("results"); r && r->is_array()) batch.results = r->get_array();
    if (const auto* e = doc->if_contains("errors"); e && e->is_array()) batch.errors = e->get_array();
    const SyncOutcome stored = co_await p.cold.sync(batch);
    out.synced_cvs = stored.inserted;
    out.rejected = stored.rejected;
    out.erased = stored.erased;
    if (!stored.rejected.empty()) {
        // Some CVs are not in cold storage: the document stays, holding them, and the answer
        // says which and why. A sync again stores nothing new for them, and never loops on 503.
        out.hot_kept = true;
        for (const auto& r : stored.rejected) p.observer.cv_rejected(job_id, r.cv_id, r.reason, request);
        auto results = co_await p.cold.results(job_id);
        if (results) out.job = std::move(*results);
        co_return out;
    }

    // 3. Clean-up of exactly the version synced; never undone into cold storage.
    try {
        if (!(co_await p.hot.remove_if_unchanged(job_id, version))) {
            // Nothing deleted: the results worker appended meanwhile (the document stays for
            // the next sync), or a concurrent sync of the same version deleted it first.
            // A late result of an erased candidate goes with the document at the next sync.
            out.hot_kept = (co_await p.hot.find(job_id)).has_value();
        }
    } catch (const std::exception& e) {
        out.cleanup_failed = true;
        p.observer.cleanup_failed(job_id, e.what(), request);
    }

    // 4. Answer 200, with the job as GET results has it.
    auto results = co_await p.cold.results(job_id);
    if (results) out.job = std::move(*results);
    co_return out;
}

}  // namespace cvgate::jobs
