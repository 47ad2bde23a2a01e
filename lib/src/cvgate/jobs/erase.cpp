// DELETE /jobs/{job_id}/candidates/{cv_id}: the candidate erased everywhere cvgate can reach,
// and its cv id never handed out again.

#include <cvgate/jobs/cv_counter.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/flows.hpp>
#include <cvgate/jobs/settler.hpp>
#include <cvgate/text/json_fields.hpp>

namespace cvgate::jobs {
namespace {

using text::string_field;

bool holds_cv(const boost::json::object& doc, std::string_view cv_id) {
    for (const char* list : {"results", "errors"}) {
        const auto* v = doc.if_contains(list);
        if (!v || !v->is_array()) continue;
        for (const auto& entry : v->get_array())
            if (entry.is_object() && string_field(entry.get_object(), "cv_id") == cv_id) return true;
    }
    return false;
}

}  // namespace

Task<Erased> erase_candidate(Ports p, std::string job_id, std::string cv_id) {
    refuse_while_settling(p.settler, job_id);
    auto hot = co_await p.hot.find(job_id);
    const auto cold_job = co_await p.cold.find(job_id);
    const std::int64_t seed = co_await counter_seed(p, job_id, hot, cold_job);
    const std::size_t files = co_await p.uploads.remove_cv(job_id, cv_id);
    // Cold storage first: it records the erasure (a late result is never stored) and creates the
    // job's counter (the id is never handed out again) before expected_files is lowered below.
    const bool known = files > 0 || (hot && holds_cv(*hot, cv_id));
    auto cold_name = co_await p.cold.remove_candidate(job_id, cv_id, known, seed);
    auto hot_before = co_await p.hot.remove_candidate(job_id, cv_id);
    if (!hot_before && !cold_name && files == 0) throw Error{ErrorKind::not_found, "Candidate not found"};

    Erased out;
    if (cold_name && !cold_name->empty()) out.candidate_name = *cold_name;
    if (out.candidate_name.empty() && hot_before) {
        if (const auto* results = hot_before->if_contains("results"); results && results->is_array()) {
            for (const auto& r : results->get_array()) {
                if (r.is_object() && string_field(r.get_object(), "cv_id") == cv_id)
                    out.candidate_name = string_field(r.get_object(), "candidate_name").value_or("");
            }
        }
    }
    if (out.candidate_name.empty()) out.candidate_name = "Unknown";
    co_return out;
}

}  // namespace cvgate::jobs
