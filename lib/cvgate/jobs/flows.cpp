#include <cvgate/jobs/flows.hpp>

#include <cvgate/exec/settlement.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/fault_point.hpp>
#include <cvgate/jobs/ids.hpp>
#include <cvgate/jobs/recovery.hpp>
#include <cvgate/jobs/settler.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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

// One past the highest cv index of `cv_id` entries in the document's results and errors.
std::int64_t next_index_in(const boost::json::object& doc) {
    std::int64_t next = 0;
    for (const char* list : {"results", "errors"}) {
        const auto* v = doc.if_contains(list);
        if (!v || !v->is_array()) continue;
        for (const auto& entry : v->get_array()) {
            if (!entry.is_object()) continue;
            const std::string id = string_of(entry.get_object(), "cv_id");
            const auto at = id.rfind('_');
            if (at == std::string::npos || at + 1 == id.size() || id.size() - at > 13) continue;
            std::int64_t index = 0;
            bool digits = true;
            for (char c : id.substr(at + 1)) {
                if (c < '0' || c > '9') digits = false;
                index = index * 10 + (c - '0');
            }
            if (digits) next = std::max(next, index + 1);
        }
    }
    return next;
}

// Where a job's cv counter starts when it has none yet. Until the first add-cvs or erase
// creates it, the hot document's expected_files was only ever set by submit, so the job has
// handed out exactly 0..expected_files-1; cold storage and the files (when still there)
// can only say the same or less, and are taken as well for jobs older than the counter.
Task<std::int64_t> counter_seed(Ports& p, const std::string& job_id,
                                const std::optional<boost::json::object>& hot,
                                const std::optional<ColdJob>& cold) {
    std::int64_t seed = cold ? cold->next_cv_index : 0;
    if (hot) seed = std::max({seed, int_of(*hot, "expected_files"), next_index_in(*hot)});
    seed = std::max(seed, co_await p.uploads.next_cv_index(job_id));
    co_return seed;
}

bool holds_cv(const boost::json::object& doc, std::string_view cv_id) {
    for (const char* list : {"results", "errors"}) {
        const auto* v = doc.if_contains(list);
        if (!v || !v->is_array()) continue;
        for (const auto& entry : v->get_array())
            if (entry.is_object() && string_of(entry.get_object(), "cv_id") == cv_id) return true;
    }
    return false;
}

// The request a flow serves: what its log lines carry. Owned: an in-doubt compensation runs
// after the request's frame is gone.
struct Request {
    std::string_view flow;  // a literal
    std::string job_id;
    RequestContext request;
};

using Outcome = exec::Settlement::Outcome;

// After a call failed in doubt: waits in the background (the request answers 503 now) until
// the call has returned or the in-doubt limit passed, then runs `then` with what it returned
// (nullopt: it never did; treated as having taken effect).
void when_settled(Ports p, std::shared_ptr<exec::Settlement> doubt,
                  std::function<Task<void>(std::optional<Outcome>)> then) {
    const auto limit = p.settler.limit();
    auto work = [doubt = std::move(doubt), limit, then = std::move(then)]() -> Task<void> {
        const auto outcome = co_await doubt->wait(exec::Deadline::after(limit));
        co_await then(outcome);
    };
    p.settler.spawn(std::move(work));
}

// How many times an add-cvs reads the document again when its reopen found it changed.
constexpr int max_reopen_tries = 8;

// A job with an in-doubt hot change on this replica takes no other change of its
// expected_files until it is settled (Settler::hold): 503, retry shortly.
void refuse_while_settling(Ports& p, const std::string& job_id) {
    if (p.settler.held(job_id))
        throw Error{
            ErrorKind::unavailable,
            "An earlier change to this job is still being settled after a storage timeout; retry shortly"};
}

void rolling_back(Ports& p, const Request& r, std::string_view stage, const std::exception_ptr& cause) {
    p.observer.rollback(r.flow, stage, r.job_id, what_of(cause), r.request);
}

// Rollback steps: best effort, a failure is reported and never thrown over the original error.
Task<void> remove_files_quietly(Ports& p, const Request& r, const Intent& intent) {
    try {
        if (intent.flow == "submit")
            co_await p.uploads.remove_job(r.job_id);
        else {
            std::vector<std::string> names = intent.files;  // named: see GCC 12 note in exec/offload.hpp
            co_await p.uploads.remove(r.job_id, std::move(names));
        }
    } catch (const std::exception& e) {
        p.observer.rollback_failed(r.flow, "remove files", r.job_id, e.what(), r.request);
    }
}

// Undoes the hot change the intent names (undo_hot); true when something was undone.
Task<bool> undo_hot_quietly(Ports& p, const Request& r, const Intent& intent) {
    try {
        co_return co_await undo_hot(p.hot, intent);
    } catch (const std::exception& e) {
        p.observer.rollback_failed(r.flow, "undo hot storage", r.job_id, e.what(), r.request);
    }
    co_return false;
}

// The journal entry goes once the request answered or rolled back. If that fails, the entry
// outlives us and a sweep after our death would undo a job that is complete: said loudly.
Task<void> forget_quietly(Ports& p, const Request& r, const Intent& intent) {
    try {
        co_await p.uploads.forget(intent.id);
    } catch (const std::exception& e) {
        p.observer.rollback_failed(r.flow, "forget journal entry", r.job_id, e.what(), r.request);
    }
}

// Step 1 of submit and add-cvs: the accepted files under their final names, flushed to disk.
// On failure none of them is left (place() undoes its own partial work; a new job's directory
// goes too) and the error is 503.
Task<std::vector<CvFile>> place_files(Ports& p, const Request& r, std::int64_t first_index, Intake& intake,
                                      Intent& intent) {
    std::vector<Placement> placements;
    std::vector<CvFile> cvs;
    std::int64_t index = first_index;
    for (auto& a : intake.accepted()) {
        CvFile cv{cv_id(r.job_id, static_cast<std::size_t>(index++)), a.original_filename, {}};
        placements.push_back({a.file.get(), cv.cv_id + std::string{extension_of(a.type)}});
        intent.files.push_back(placements.back().name);
        cvs.push_back(std::move(cv));
    }
    std::exception_ptr failure;
    try {
        // Journal first: from here on, a killed process leaves something another replica undoes.
        co_await p.uploads.record(intent);
        auto paths = co_await p.uploads.place(r.job_id, placements);
        for (std::size_t i = 0; i < cvs.size(); ++i) cvs[i].file_path = std::move(paths[i]);
        co_return cvs;
    } catch (...) {
        failure = std::current_exception();
    }
    rolling_back(p, r, "disk", failure);
    if (intent.flow == "submit") co_await remove_files_quietly(p, r, intent);
    co_await forget_quietly(p, r, intent);
    throw Error{ErrorKind::unavailable, "Upload volume unavailable: the files could not be stored"};
}

// Until `until`, every few seconds: a hot change that may still land late (a server that hung
// applies a command it read before it hung, on a connection the driver gave up) is undone if
// it does: the document is removed again, the reopen undone. Stops once a reopen was undone:
// a call takes effect once at most.
Task<void> keep_undone(Ports& p, const Request& r, const Intent& intent, exec::Deadline until) {
    boost::asio::steady_timer pause{co_await boost::asio::this_coro::executor};
    while (!until.passed()) {
        pause.expires_after(std::min<exec::Clock::duration>(std::chrono::seconds{2}, until.remaining()));
        co_await pause.async_wait(boost::asio::use_awaitable);
        try {
            if (co_await undo_hot(p.hot, intent)) {
                p.observer.rollback(r.flow, "hot_storage", r.job_id,
                                    "the in-doubt " +
                                        std::string{intent.hot == "reopening" ? "reopen" : "insert"} +
                                        " took effect late; undone",
                                    r.request);
                if (intent.hot == "reopening") co_return;
            }
        } catch (const std::exception& e) {
            p.observer.rollback_failed(r.flow, "undo a late hot change", r.job_id, e.what(), r.request);
        }
    }
}

// A hot-storage step failed in doubt (its call may still land): the request answers 503 now;
// the hot change, the files and the journal entry are undone once the call has returned.
// False when the failure is certain: the caller undoes at once.
bool undo_when_settled(Ports& p, const Request& r, std::string_view stage,
                       std::shared_ptr<exec::Settlement> doubt, const Intent& intent) {
    if (!doubt) return false;
    const auto until = exec::Deadline::after(p.settler.limit());
    // Until then, this replica changes the job's expected_files no further (Settler::hold):
    // whether the reopen applied is read from that value.
    p.settler.hold(r.job_id);
    auto then = [p, r, intent, stage, until](std::optional<Outcome> outcome) mutable -> Task<void> {
        // Whatever the call said: a document goes (deleting is harmless), a reopen is undone
        // if the value shows it applied (a lost reply returns an error for a change that landed).
        const bool undone = co_await undo_hot_quietly(p, r, intent);
        co_await remove_files_quietly(p, r, intent);
        // The journal entry stays until the in-doubt limit: crash recovery covers a kill meanwhile.
        if (!(undone && intent.hot == "reopening")) co_await keep_undone(p, r, intent, until);
        co_await forget_quietly(p, r, intent);
        p.settler.release(r.job_id);
        p.observer.in_doubt(r.flow, stage, r.job_id, "rolled_back", outcome.has_value(), r.request);
    };
    when_settled(p, std::move(doubt), std::move(then));
    return true;
}

// The publish failed in doubt: the broker may still confirm it. The job's document and files
// stay until it settles: confirmed → the job is valid (accepted late); nack, channel lost or
// no word within the in-doubt limit → rolled back. The verdict says which, for the
// Idempotency-Key; null when the failure is certain (the caller rolls back at once).
std::shared_ptr<exec::Settlement> accept_or_undo_when_settled(Ports& p, const Request& r,
                                                              const std::exception_ptr& failure,
                                                              const Intent& intent, std::size_t files) {
    auto doubt = exec::settlement_of(failure);
    if (!doubt) return nullptr;
    auto verdict = std::make_shared<exec::Settlement>();
    auto then = [p, r, intent, files, verdict](std::optional<Outcome> outcome) mutable -> Task<void> {
        if (outcome == Outcome::succeeded) {
            co_await forget_quietly(p, r, intent);
            p.observer.accepted(r.flow, files);
            p.observer.in_doubt(r.flow, "queue", r.job_id, "accepted_late", true, r.request);
            verdict->resolve(Outcome::succeeded);
            co_return;
        }
        p.observer.rollback(r.flow, "queue", r.job_id,
                            outcome ? "the broker refused the in-doubt publish, or the channel was lost"
                                    : "the in-doubt publish did not settle in time",
                            r.request);
        co_await undo_hot_quietly(p, r, intent);
        co_await remove_files_quietly(p, r, intent);
        co_await forget_quietly(p, r, intent);
        p.observer.in_doubt(r.flow, "queue", r.job_id, "rolled_back", outcome.has_value(), r.request);
        verdict->resolve(Outcome::failed);
    };
    when_settled(p, std::move(doubt), std::move(then));
    return verdict;
}

}  // namespace

Task<Accepted> submit(Ports p, const Limits& limits, Intake& intake, RequestContext request) {
    const Form form = validate_form(intake, limits);
    require_files(intake);
    Accepted out;
    out.job_id = new_job_id();
    out.correlation_id = request.correlation_id;
    out.skipped = intake.skipped();
    const std::string& job_id = out.job_id;
    const std::string& correlation_id = request.correlation_id;
    const Request r{"submit", job_id, request};
    fault_point("submit.staged");

    // 1. Disk: final names, flushed, before anything points at them. The journal entry says
    //    "the directory and maybe the document": both are this job's own, so undoing both is
    //    right whichever step a killed process reached.
    Intent intent{new_job_id(), "submit", job_id, correlation_id, {}, 0, "inserted", {}};
    out.cvs = co_await place_files(p, r, 0, intake, intent);
    fault_point("submit.placed");

    // 2. Hot storage. Rollback: the job directory (and the document, if the insert was in
    //    doubt: it may land after its deadline).
    std::exception_ptr failure;
    try {
        const auto document =
            hot_document(job_id, correlation_id, form.jd_text, out.cvs.size(), utc_timestamp());
        co_await p.hot.insert(document);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        rolling_back(p, r, "hot_storage", failure);
        if (undo_when_settled(p, r, "hot_storage", exec::settlement_of(failure), intent))
            throw Error{ErrorKind::unavailable, "Hot storage timed out: the job was not created"};
        co_await remove_files_quietly(p, r, intent);
        co_await forget_quietly(p, r, intent);
        throw Error{ErrorKind::unavailable, "Hot storage unavailable: the job was not created"};
    }
    fault_point("submit.inserted");

    // 3. Queue, with the broker's confirm. Rollback: the document and the directory.
    try {
        const auto message = job_message(job_id, correlation_id, form.jd_text, form.use_delay, out.cvs);
        co_await p.queue.publish(message, correlation_id, request.trace);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (auto verdict = accept_or_undo_when_settled(p, r, failure, intent, out.cvs.size()))
            throw AcceptanceInDoubt{"Job queue timed out: the job was not created", out, std::move(verdict)};
        rolling_back(p, r, "queue", failure);
        co_await undo_hot_quietly(p, r, intent);
        co_await remove_files_quietly(p, r, intent);
        co_await forget_quietly(p, r, intent);
        throw Error{ErrorKind::unavailable, "Job queue unavailable: the job was not created"};
    }
    // Confirmed: the job is complete and valid, whatever happens to this process now.
    co_await forget_quietly(p, r, intent);
    fault_point("submit.published");
    p.observer.accepted("submit", out.cvs.size());
    co_return out;
}

Task<Accepted> add_cvs(Ports p, const Limits& limits, std::string job_id, Intake& intake,
                       RequestContext request) {
    refuse_while_settling(p, job_id);
    auto hot = co_await p.hot.find(job_id);
    std::optional<ColdJob> cold = co_await p.cold.find(job_id);
    if (!hot && !cold) throw Error{ErrorKind::not_found, "Job not found"};
    const Form form = validate_form(intake, limits);
    require_files(intake);

    Accepted out;
    out.job_id = job_id;
    out.skipped = intake.skipped();
    const auto added = static_cast<std::int64_t>(intake.accepted_count());
    const std::string& correlation_id = request.correlation_id;
    const Request r{"add_cvs", job_id, request};
    // The new cv ids, from the job's counter in cold storage: atomic across replicas, never
    // lowered, whatever became of the files (the results worker removes the job directory)
    // or of erased candidates.
    const std::int64_t seed = co_await counter_seed(p, job_id, hot, cold);
    const std::int64_t first = co_await p.cold.allocate_cv_indexes(job_id, added, seed);
    fault_point("add_cvs.staged");

    // 1. Disk.
    Intent intent{new_job_id(), "add_cvs", job_id, correlation_id, {}, added, {}, {}};
    out.cvs = co_await place_files(p, r, first, intake, intent);
    fault_point("add_cvs.placed");

    // 2. Hot storage: reopen the document, or re-create it from cold storage when the job
    //    was already synced and its document is gone. The reopen is a compare-and-set of
    //    expected_files, retried when a concurrent change got there first, so that one whose
    //    reply was lost can be checked. The journal says "reopening" before the call (a
    //    process killed mid-call is undone too), then what was done.
    std::optional<boost::json::object> before;
    std::string job_correlation_id = hot ? string_of(*hot, "correlation_id") : cold->correlation_id;
    std::string jd_text = hot ? string_of(*hot, "jd_text") : cold->jd_text;
    std::exception_ptr failure;
    std::string attempted;  // the hot change whose call is in flight: an in-doubt failure undoes it
    try {
        std::optional<boost::json::object> current = hot;
        for (int tries = 0; current && !before; ++tries) {
            if (tries == max_reopen_tries)
                throw Error{ErrorKind::unavailable, "The job is changing too fast: no CVs were added; retry"};
            intent.hot = "reopening";
            intent.expected_before = int_of(*current, "expected_files");
            intent.old_status = string_of(*current, "status");
            co_await p.uploads.record(intent);
            attempted = "reopening";
            before = co_await p.hot.reopen(job_id, added, intent.expected_before);
            attempted.clear();
            fault_point("add_cvs.reopening");  // applied, and the journal does not say so yet
            if (before) break;
            intent.hot.clear();  // not applied: the document is gone or changed; read it again
            current = co_await p.hot.find(job_id);
        }
        if (before) {
            intent.hot = "reopened";
            job_correlation_id = string_of(*before, "correlation_id");
        } else {
            if (!cold) cold = co_await p.cold.find(job_id);  // synced between our reads
            if (!cold) throw Error{ErrorKind::not_found, "Job not found"};
            job_correlation_id = cold->correlation_id;
            jd_text = cold->jd_text;
            // Named first: GCC 12 mishandles temporaries of a ?: inside a co_await expression.
            std::string created_at = cold->created_at;
            if (created_at.empty()) created_at = utc_timestamp();
            const auto document =
                hot_document(job_id, job_correlation_id, jd_text, out.cvs.size(), created_at);
            attempted = "created";
            co_await p.hot.insert(document);
            attempted.clear();
            out.resumed = true;
            intent.hot = "created";
        }
        co_await p.uploads.record(intent);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        rolling_back(p, r, "hot_storage", failure);
        auto doubt = attempted.empty() ? nullptr : exec::settlement_of(failure);
        if (doubt)
            intent.hot = attempted;  // it may still land: undone if it did
        else if (attempted == "reopening")
            intent.hot.clear();  // a certain failure: the reopen did not apply
        if (undo_when_settled(p, r, "hot_storage", std::move(doubt), intent))
            throw Error{ErrorKind::unavailable, "Hot storage timed out: no CVs were added"};
        co_await undo_hot_quietly(p, r, intent);
        co_await remove_files_quietly(p, r, intent);
        co_await forget_quietly(p, r, intent);
        try {
            std::rethrow_exception(failure);
        } catch (const Error&) {
            throw;
        } catch (...) {
            throw Error{ErrorKind::unavailable, "Hot storage unavailable: no CVs were added"};
        }
    }
    fault_point("add_cvs.reopened");

    // 3. Queue: a message for the new files only. Rollback: the hot change, the new files.
    if (job_correlation_id.empty()) job_correlation_id = correlation_id;
    out.correlation_id = job_correlation_id;
    try {
        const auto message = job_message(job_id, job_correlation_id, jd_text, form.use_delay, out.cvs);
        co_await p.queue.publish(message, job_correlation_id, request.trace);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (auto verdict = accept_or_undo_when_settled(p, r, failure, intent, out.cvs.size()))
            throw AcceptanceInDoubt{"Job queue timed out: no CVs were added", out, std::move(verdict)};
        rolling_back(p, r, "queue", failure);
        co_await undo_hot_quietly(p, r, intent);
        co_await remove_files_quietly(p, r, intent);
        co_await forget_quietly(p, r, intent);
        throw Error{ErrorKind::unavailable, "Job queue unavailable: no CVs were added"};
    }
    co_await forget_quietly(p, r, intent);
    fault_point("add_cvs.published");
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
    refuse_while_settling(p, job_id);
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
                if (r.is_object() && string_of(r.get_object(), "cv_id") == cv_id)
                    out.candidate_name = string_of(r.get_object(), "candidate_name");
            }
        }
    }
    if (out.candidate_name.empty()) out.candidate_name = "Unknown";
    co_return out;
}

}  // namespace cvgate::jobs
