#include <cvgate/jobs/flows.hpp>

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/ids.hpp>

#include <boost/json/array.hpp>

#include <algorithm>
#include <exception>

namespace cvgate::jobs {
namespace {

std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown error";
    }
}

// The form must carry at least one file, and at least one must pass the checks.
void require_files(const Intake& intake) {
    if (intake.files_uploaded() == 0) throw Error{ErrorKind::bad_request, "No files uploaded"};
    if (!intake.accepted_count()) {
        boost::json::array names, details;
        for (const auto& s : intake.skipped()) {
            names.push_back(boost::json::string{s.filename});
            details.push_back(boost::json::object{{"filename", s.filename}, {"reason", s.reason}});
        }
        throw Error{
            ErrorKind::bad_request,
            boost::json::object{{"message", "All files were invalid or failed validation"},
                                {"skipped_files", std::move(names)},
                                {"details", std::move(details)},
                                {"total_uploaded", static_cast<std::int64_t>(intake.files_uploaded())},
                                {"valid_files", 0}},
            "all files rejected"};
    }
}

std::size_t array_size(const boost::json::object& doc, std::string_view key) {
    const auto* v = doc.if_contains(key);
    return v && v->is_array() ? v->get_array().size() : 0;
}

std::string string_of(const boost::json::object& doc, std::string_view key) {
    const auto* v = doc.if_contains(key);
    return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

std::int64_t int_of(const boost::json::object& doc, std::string_view key) {
    const auto* v = doc.if_contains(key);
    if (!v) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return 0;
}

// Step 1 of submit and add-cvs: the accepted files under their final names, flushed to disk.
// On failure nothing of them is left and the error is 503.
Task<std::vector<CvFile>> place_files(Ports& p, const std::string& job_id, std::int64_t first_index,
                                      Intake& intake, bool new_job, std::string_view flow) {
    std::vector<Placement> placements;
    std::vector<CvFile> cvs;
    std::int64_t index = first_index;
    for (auto& a : intake.accepted()) {
        CvFile cv{cv_id(job_id, static_cast<std::size_t>(index++)), a.original_filename, {}};
        placements.push_back({a.file.get(), cv.cv_id + std::string{extension_of(a.type)}});
        cvs.push_back(std::move(cv));
    }
    std::exception_ptr failure;
    try {
        auto paths = co_await p.uploads.place(job_id, placements);
        for (std::size_t i = 0; i < cvs.size(); ++i) cvs[i].file_path = std::move(paths[i]);
        co_return cvs;
    } catch (...) {
        failure = std::current_exception();
    }
    p.observer.rollback(flow, "disk", job_id, what_of(failure));
    try {
        if (new_job) {
            co_await p.uploads.remove_job(job_id);
        } else {
            std::vector<std::string> names;
            for (const auto& pl : placements) names.push_back(pl.name);
            co_await p.uploads.remove(job_id, std::move(names));
        }
    } catch (const std::exception& e) {
        p.observer.rollback_failed(flow, "remove files", job_id, e.what());
    }
    throw Error{ErrorKind::unavailable, "Upload volume unavailable: the files could not be stored"};
}

Task<void> remove_files_quietly(Ports& p, const std::string& job_id, const std::vector<CvFile>& cvs,
                                bool whole_job, std::string_view flow) {
    try {
        if (whole_job) {
            co_await p.uploads.remove_job(job_id);
        } else {
            std::vector<std::string> names;
            for (const auto& cv : cvs) names.push_back(cv.file_path.substr(cv.file_path.rfind('/') + 1));
            co_await p.uploads.remove(job_id, std::move(names));
        }
    } catch (const std::exception& e) {
        p.observer.rollback_failed(flow, "remove files", job_id, e.what());
    }
}

}  // namespace

Task<Accepted> submit(Ports p, const Limits& limits, Intake& intake, std::string correlation_id) {
    const Form form = validate_form(intake, limits);
    require_files(intake);
    Accepted out;
    out.job_id = new_job_id();
    out.skipped = intake.skipped();
    const std::string& job_id = out.job_id;

    // 1. Disk: final names, flushed, before anything points at them.
    out.cvs = co_await place_files(p, job_id, 0, intake, true, "submit");

    // 2. Hot storage. Rollback: the job directory.
    std::exception_ptr failure;
    try {
        const auto document =
            hot_document(job_id, correlation_id, form.jd_text, out.cvs.size(), utc_timestamp());
        co_await p.hot.insert(document);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        p.observer.rollback("submit", "hot_storage", job_id, what_of(failure));
        co_await remove_files_quietly(p, job_id, out.cvs, true, "submit");
        throw Error{ErrorKind::unavailable, "Hot storage unavailable: the job was not created"};
    }

    // 3. Queue, with the broker's confirm. Rollback: the document and the directory.
    try {
        const auto message = job_message(job_id, correlation_id, form.jd_text, form.use_delay, out.cvs);
        co_await p.queue.publish(message, correlation_id);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        p.observer.rollback("submit", "queue", job_id, what_of(failure));
        try {
            co_await p.hot.remove(job_id);
        } catch (const std::exception& e) {
            p.observer.rollback_failed("submit", "delete document", job_id, e.what());
        }
        co_await remove_files_quietly(p, job_id, out.cvs, true, "submit");
        throw Error{ErrorKind::unavailable, "Job queue unavailable: the job was not created"};
    }
    p.observer.accepted("submit", out.cvs.size());
    co_return out;
}

Task<Accepted> add_cvs(Ports p, const Limits& limits, std::string job_id, Intake& intake,
                       std::string correlation_id) {
    auto hot = co_await p.hot.find(job_id);
    std::optional<ColdJob> cold = co_await p.cold.find(job_id);
    if (!hot && !cold) throw Error{ErrorKind::not_found, "Job not found"};
    const Form form = validate_form(intake, limits);
    require_files(intake);

    Accepted out;
    out.job_id = job_id;
    out.skipped = intake.skipped();
    const std::int64_t on_disk = co_await p.uploads.next_cv_index(job_id);
    const std::int64_t first = std::max(on_disk, cold ? cold->next_cv_index : std::int64_t{0});
    const auto added = static_cast<std::int64_t>(intake.accepted_count());

    // 1. Disk.
    out.cvs = co_await place_files(p, job_id, first, intake, false, "add_cvs");

    // 2. Hot storage: reopen the document, or re-create it from cold storage when the job
    //    was already synced and its document is gone.
    std::optional<boost::json::object> before;
    std::string job_correlation_id = hot ? string_of(*hot, "correlation_id") : cold->correlation_id;
    std::string jd_text = hot ? string_of(*hot, "jd_text") : cold->jd_text;
    std::exception_ptr failure;
    try {
        before = co_await p.hot.reopen(job_id, added);
        if (!before) {
            if (!cold) cold = co_await p.cold.find(job_id);  // synced between our reads
            if (!cold) throw Error{ErrorKind::not_found, "Job not found"};
            job_correlation_id = cold->correlation_id;
            jd_text = cold->jd_text;
            // Named first: GCC 12 mishandles temporaries of a ?: inside a co_await expression.
            std::string created_at = cold->created_at;
            if (created_at.empty()) created_at = utc_timestamp();
            const auto document =
                hot_document(job_id, job_correlation_id, jd_text, out.cvs.size(), created_at);
            co_await p.hot.insert(document);
            out.resumed = true;
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        p.observer.rollback("add_cvs", "hot_storage", job_id, what_of(failure));
        co_await remove_files_quietly(p, job_id, out.cvs, false, "add_cvs");
        try {
            std::rethrow_exception(failure);
        } catch (const Error&) {
            throw;
        } catch (...) {
            throw Error{ErrorKind::unavailable, "Hot storage unavailable: no CVs were added"};
        }
    }

    // 3. Queue: a message for the new files only. Rollback: the hot change, the new files.
    if (job_correlation_id.empty()) job_correlation_id = correlation_id;
    try {
        const auto message = job_message(job_id, job_correlation_id, jd_text, form.use_delay, out.cvs);
        co_await p.queue.publish(message, job_correlation_id);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        p.observer.rollback("add_cvs", "queue", job_id, what_of(failure));
        try {
            if (out.resumed) {
                co_await p.hot.remove(job_id);
            } else {
                const std::string old_status = string_of(*before, "status");
                co_await p.hot.undo_reopen(job_id, added, old_status);
            }
        } catch (const std::exception& e) {
            p.observer.rollback_failed("add_cvs", "undo hot storage", job_id, e.what());
        }
        co_await remove_files_quietly(p, job_id, out.cvs, false, "add_cvs");
        throw Error{ErrorKind::unavailable, "Job queue unavailable: no CVs were added"};
    }
    p.observer.accepted("add_cvs", out.cvs.size());
    co_return out;
}

Task<boost::json::object> job_status(Ports p, std::string job_id) {
    auto doc = co_await p.hot.find(job_id);
    if (doc) co_return std::move(*doc);
    const auto synced = co_await p.cold.find(job_id);
    if (synced)
        throw Error{ErrorKind::not_found,
                    "Job was synced to cold storage; its results are at /jobs/" + job_id + "/results"};
    throw Error{ErrorKind::not_found, "Job not found"};
}

Task<Synced> sync_job(Ports p, std::string job_id) {
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
    HotVersion version{string_of(*doc, "status"), array_size(*doc, "results"), array_size(*doc, "errors")};
    if (version.status != "complete") {
        throw Error{
            ErrorKind::conflict,
            boost::json::object{{"message", "Job is not complete yet; sync it once processing has finished"},
                                {"status", version.status},
                                {"processed", static_cast<std::int64_t>(version.results + version.errors)},
                                {"expected_files", int_of(*doc, "expected_files")}},
            "job not complete"};
    }

    // 2. Incremental sync, one transaction, deduplicated by (job_id, cv_id).
    SyncBatch batch{job_id,
                    string_of(*doc, "correlation_id"),
                    string_of(*doc, "jd_text"),
                    string_of(*doc, "created_at"),
                    {},
                    {}};
    if (const auto* r = doc->if_contains("results"); r && r->is_array()) batch.results = r->get_array();
    if (const auto* e = doc->if_contains("errors"); e && e->is_array()) batch.errors = e->get_array();
    out.synced_cvs = co_await p.cold.sync(batch);

    // 3. Clean-up of exactly the version synced; never undone into cold storage.
    try {
        if (!(co_await p.hot.remove_if_unchanged(job_id, version))) {
            // Nothing deleted: the results worker appended meanwhile (the document stays for
            // the next sync), or a concurrent sync of the same version deleted it first.
            out.hot_kept = (co_await p.hot.find(job_id)).has_value();
        }
    } catch (const std::exception& e) {
        out.cleanup_failed = true;
        p.observer.cleanup_failed(job_id, e.what());
    }

    auto results = co_await p.cold.results(job_id);
    if (results) out.job = std::move(*results);
    co_return out;
}

Task<boost::json::object> job_results(Ports p, std::string job_id) {
    auto results = co_await p.cold.results(job_id);
    if (!results)
        throw Error{
            ErrorKind::not_found,
            "Job results not found; once the job is complete, sync it first: POST /jobs/" + job_id + "/sync"};
    co_return std::move(*results);
}

Task<Erased> erase_candidate(Ports p, std::string job_id, std::string cv_id) {
    auto hot_before = co_await p.hot.remove_candidate(job_id, cv_id);
    auto cold_name = co_await p.cold.remove_candidate(job_id, cv_id);
    const std::size_t files = co_await p.uploads.remove_cv(job_id, cv_id);
    if (!hot_before && !cold_name && files == 0) throw Error{ErrorKind::not_found, "Candidate not found"};

    Erased out;
    if (cold_name && !cold_name->empty()) out.candidate_name = *cold_name;
    if (out.candidate_name.empty() && hot_before) {
        if (const auto* results = hot_before->if_contains("results"); results && results->is_array()) {
            for (const auto& r : results->get_array()) {
                if (r.is_object() && string_of(r.get_object(), "cv_id") == cv_id)
                    out.candidate_name = string_of(r.get_object(), "candidate_name");
            }
        }
    }
    if (out.candidate_name.empty()) out.candidate_name = "Unknown";
    co_return out;
}

}  // namespace cvgate::jobs
