#pragma once
// What the domain needs from the outside world, as interfaces whose operations are
// coroutines: the hot store (MongoDB), the cold store (PostgreSQL), the job queue (RabbitMQ)
// and the upload volume. Adapters implement them on the real clients; unit tests on memory.
// Every operation throws DependencyError (jobs/error.hpp) when its dependency fails; a failure
// at a deadline after the call started carries the call's settlement (exec::settlement_of).

#include <cvgate/ids/trace_context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::jobs {

template <typename T>
using Task = boost::asio::awaitable<T>;

// The request a flow serves, as its log lines and its job message name it.
struct RequestContext {
    std::string correlation_id;  // the request's (for a job's messages, the job's is used)
    ids::TraceContext trace;     // its span: in its log lines and its job message's headers
};

// The version of a hot document that a sync read: it is deleted only if still the same.
struct HotVersion {
    std::string status;
    std::size_t results = 0;
    std::size_t errors = 0;
};

class HotStore {
public:
    virtual ~HotStore() = default;
    virtual Task<void> insert(const boost::json::object& document) = 0;
    virtual Task<std::optional<boost::json::object>> find(std::string_view job_id) = 0;
    virtual Task<bool> remove(std::string_view job_id) = 0;
    virtual Task<bool> remove_if_unchanged(std::string_view job_id, const HotVersion& version) = 0;
    // Compare-and-set: `expected_files` from `expected_before` to `expected_before + added`
    // and status `pending`, only while the document still holds `expected_before`, so that a
    // call whose reply was lost can be checked afterwards (undo_reopen_if_applied). The
    // document as it was, or nullopt when no document holds that value (gone, or changed
    // meanwhile: read it again and retry).
    virtual Task<std::optional<boost::json::object>> reopen(std::string_view job_id, std::int64_t added,
                                                            std::int64_t expected_before) = 0;
    // Undoes a reopen known to have taken effect: `$inc` back and restore the old status.
    virtual Task<void> undo_reopen(std::string_view job_id, std::int64_t added,
                                   std::string_view old_status) = 0;
    // Undoes a reopen that may or may not have taken effect (its reply was lost, its process
    // died): only while `expected_files` is still `expected_before + added`. True when undone.
    virtual Task<bool> undo_reopen_if_applied(std::string_view job_id, std::int64_t added,
                                              std::int64_t expected_before, std::string_view old_status) = 0;
    // Pulls the cv's entries from `results` and `errors` and lowers `expected_files` by one, in
    // one update (the job stays completable); the document as it was before, or nullopt when
    // no entry of that cv was there.
    virtual Task<std::optional<boost::json::object>> remove_candidate(std::string_view job_id,
                                                                      std::string_view cv_id) = 0;
    virtual Task<void> ping() = 0;
};

// A job as cold storage has it.
struct ColdJob {
    std::string id;
    std::string correlation_id;
    std::string jd_text;
    std::string status;
    std::int64_t total_cvs = 0;
    std::int64_t successful_cvs = 0;
    std::int64_t failed_cvs = 0;
    std::string created_at;
    std::string completed_at;
    std::int64_t next_cv_index = 0;  // one past the highest cv index ever stored for the job
};

// A CV cold storage cannot store (SQLSTATE class 22 and the like), and why.
struct RejectedCv {
    std::string cv_id;
    std::string reason;
};

struct SyncOutcome {
    std::size_t inserted = 0;          // CVs (successful or failed) this call stored
    std::vector<std::string> erased;   // entries skipped: their candidate was erased
    std::vector<RejectedCv> rejected;  // entries the server refused; the rest is stored
};

// What one sync moves from a complete hot document into cold storage.
struct SyncBatch {
    std::string job_id;
    std::string correlation_id;
    std::string jd_text;
    std::string created_at;
    boost::json::array results;  // analysis documents, each with a cv_id
    boost::json::array errors;   // {"cv_id", "filename", "error"}
};

class ColdStore {
public:
    virtual ~ColdStore() = default;
    virtual Task<std::optional<ColdJob>> find(std::string_view job_id) = 0;
    // In one transaction: create the job row if absent, insert only the CVs not stored yet
    // (unique (job_id, cv_id), ON CONFLICT DO NOTHING) and not erased, recompute the totals.
    // Text PostgreSQL cannot hold (U+0000) is stored losslessly; a CV it refuses all the same
    // is reported in `rejected`, the others stored. A job row it refuses throws invalid_data.
    virtual Task<SyncOutcome> sync(const SyncBatch& batch) = 0;
    // `GET /jobs/{id}/results`: the job with its successful analyses, best score first.
    virtual Task<std::optional<boost::json::object>> results(std::string_view job_id) = 0;
    // Hands out `count` consecutive cv indexes of the job, atomically across replicas and never
    // twice; the first. `seed`: where the job's counter starts when it has none yet (one past
    // every index its submit and earlier add-cvs handed out).
    virtual Task<std::int64_t> allocate_cv_indexes(std::string_view job_id, std::int64_t count,
                                                   std::int64_t seed) = 0;
    // Deletes the candidate, updates the totals and, when cold storage had it or `known`
    // (another store had it), records it as erased (a late result is never stored) and makes
    // sure the job's counter exists (from `seed`), so the cv id is never handed out again.
    // Its candidate name (maybe empty), or nullopt when cold storage did not have it.
    virtual Task<std::optional<std::string>> remove_candidate(std::string_view job_id, std::string_view cv_id,
                                                              bool known, std::int64_t seed) = 0;
    virtual Task<void> ping() = 0;
};

class JobQueue {
public:
    virtual ~JobQueue() = default;
    // Publishes the job message and returns once the broker confirmed it.
    // `trace` (when not empty) goes into the message's headers, so that the pipeline's spans
    // join the trace.
    virtual Task<void> publish(const boost::json::object& message, std::string_view correlation_id,
                               const ids::TraceContext& trace) = 0;
    virtual Task<void> ping() = 0;
};

// A file being received, under a temporary name outside any job directory, so the parser
// never sees it. Dropping it without place() removes it.
class StagedFile {
public:
    virtual ~StagedFile() = default;
    // May keep `chunk` in a bounded buffer; place() writes whatever is still buffered.
    virtual Task<void> write(std::string_view chunk) = 0;
    // The upload waits for its client: stop holding buffered bytes (write them out).
    virtual Task<void> flush() { co_return; }
    // Every byte of the file has arrived: hold no buffer, and start making it durable.
    virtual Task<void> complete() { co_await flush(); }
};

struct Placement {
    StagedFile* file;
    std::string name;  // final name inside the job directory: `{cv_id}{ext}`
};

// What a submit or add-cvs in progress has done so far that would outlive its process, kept
// until it answered or rolled back, so that another replica can undo what a killed one left
// half-done (the crash recovery in lib/src/cvgate/jobs/recovery.cpp, internal to the library).
struct Intent {
    std::string id{};    // the request's own (two add-cvs on one job are two intents)
    std::string flow{};  // "submit" or "add_cvs"
    std::string job_id{};
    std::string correlation_id{};      // the request's, for the recovery's log lines
    std::vector<std::string> files{};  // names this request places in the job directory
    std::int64_t added = 0;            // add-cvs: what its reopen added to expected_files
    // "" nothing yet; "inserted" (submit); add-cvs: "reopening" (the reopen's call is in
    // flight or its reply was lost: undone only if it took effect), "reopened" or "created".
    std::string hot{};
    std::string old_status{};          // add-cvs, reopening/reopened: the status to restore
    std::int64_t expected_before = 0;  // add-cvs, reopening/reopened: expected_files before it
};

class UploadStore {
public:
    virtual ~UploadStore() = default;
    virtual Task<std::unique_ptr<StagedFile>> stage() = 0;
    // Moves staged files to their final names in the job's directory (never replacing a
    // file), flushes files and directory to disk; the absolute paths, in order. All or
    // nothing: on failure, none of the files it placed is left.
    virtual Task<std::vector<std::string>> place(std::string_view job_id, std::vector<Placement> files) = 0;
    virtual Task<void> remove(std::string_view job_id, std::vector<std::string> names) = 0;
    virtual Task<void> remove_job(std::string_view job_id) = 0;
    // Removes `{cv_id}.*` of the job; how many files went.
    virtual Task<std::size_t> remove_cv(std::string_view job_id, std::string_view cv_id) = 0;
    // One past the highest cv index among the job's files (0 when none).
    virtual Task<std::int64_t> next_cv_index(std::string_view job_id) = 0;
    virtual Task<void> check_writable() = 0;
    // The journal of requests in progress, on the volume every replica shares: record() before
    // each step that leaves something behind (again to update), forget() once the request
    // answered or rolled back. An implementation without crash recovery may ignore both.
    virtual Task<void> record(const Intent& /*intent*/) { co_return; }
    virtual Task<void> forget(std::string_view /*intent_id*/) { co_return; }
};

// Told of what the flows do that an operator wants to see (logs, metrics). Rollbacks are
// best effort: a failed rollback step is reported here, never thrown over the original error.
class Observer {
public:
    virtual ~Observer() = default;
    virtual void accepted(std::string_view /*flow*/, std::size_t /*files*/) {}
    // Every rollback line names the request it undoes: its correlation id and job id.
    virtual void rollback(std::string_view /*flow*/, std::string_view /*stage*/, std::string_view /*job_id*/,
                          std::string_view /*cause*/, const RequestContext& /*request*/) {}
    virtual void rollback_failed(std::string_view /*flow*/, std::string_view /*step*/,
                                 std::string_view /*job_id*/, std::string_view /*error*/,
                                 const RequestContext& /*request*/) {}
    virtual void cleanup_failed(std::string_view /*job_id*/, std::string_view /*error*/,
                                const RequestContext& /*request*/) {}
    // A call that failed at its deadline after it started (in doubt) has settled, or stayed
    // unsettled past the in-doubt limit: `outcome` is what became of the request's job —
    // "accepted_late" (the broker confirmed its publish after all) or "rolled_back".
    // `settled`: whether the call returned within the limit.
    virtual void in_doubt(std::string_view /*flow*/, std::string_view /*stage*/, std::string_view /*job_id*/,
                          std::string_view /*outcome*/, bool /*settled*/, const RequestContext& /*request*/) {
    }
    // A sync could not store this CV: cold storage refused its data.
    virtual void cv_rejected(std::string_view /*job_id*/, std::string_view /*cv_id*/,
                             std::string_view /*reason*/, const RequestContext& /*request*/) {}
};

class Settler;  // jobs/settler.hpp

struct Ports {
    HotStore& hot;
    ColdStore& cold;
    JobQueue& queue;
    UploadStore& uploads;
    Observer& observer;
    Settler& settler;  // runs the compensation of in-doubt calls once they settled
};

}  // namespace cvgate::jobs
