#pragma once
// The gateway's flows, each one coroutine that reads like CONTRACT.md's numbered steps,
// rollbacks included, written against the ports only (ports.hpp). The domain's public face is
// this, ports.hpp, model.hpp, error.hpp and what they include; the flows themselves are in
// lib/src/cvgate/jobs/, one file each (submit.cpp first, then add_cvs, status, sync, results,
// erase), with their internal helpers (rollback.hpp: submit's and add-cvs's rollback).

#include <cvgate/exec/settlement.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/intake.hpp>
#include <cvgate/jobs/model.hpp>
#include <cvgate/jobs/ports.hpp>

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cvgate::jobs {

// What a 202 of submit or add-cvs says.
struct Accepted {
    std::string job_id{};
    std::string correlation_id{};  // the job's: the one its messages carry
    std::vector<CvFile> cvs{};
    std::vector<SkippedFile> skipped{};
    bool resumed = false;  // add-cvs: the hot document was re-created from cold storage
};

// A 503 whose job may still be accepted: its publish is in doubt (no confirm by the deadline,
// though the message was sent). `verdict()` resolves once the broker settled it: succeeded →
// the job was accepted late and `accepted()` is what its 202 said; failed → rolled back. The
// renderer of the 202 puts that answer in `answer`, for the Idempotency-Key to replay.
class AcceptanceInDoubt : public Error {
public:
    AcceptanceInDoubt(std::string detail, Accepted accepted, std::shared_ptr<exec::Settlement> verdict)
        : Error{ErrorKind::unavailable, std::move(detail)},
          accepted_{std::move(accepted)},
          verdict_{std::move(verdict)} {}
    const Accepted& accepted() const noexcept { return accepted_; }
    const std::shared_ptr<exec::Settlement>& verdict() const noexcept { return verdict_; }
    boost::json::object answer;

private:
    Accepted accepted_;
    std::shared_ptr<exec::Settlement> verdict_;
};

// POST /jobs/submit, after the form was read: disk -> hot storage -> queue, with rollback.
Task<Accepted> submit(Ports ports, const Limits& limits, Intake& intake, RequestContext request);

// POST /jobs/{job_id}/add-cvs: more CVs for a job in hot or cold storage.
Task<Accepted> add_cvs(Ports ports, const Limits& limits, std::string job_id, Intake& intake,
                       RequestContext request);

// GET /jobs/{job_id}/status: the hot document as stored.
Task<boost::json::object> job_status(Ports ports, std::string job_id);

struct Synced {
    std::size_t synced_cvs = 0;
    boost::json::object job;           // as GET results
    bool already_synced = false;       // a retried sync: the job was in cold storage only
    bool cleanup_failed = false;       // the hot document could not be deleted
    bool hot_kept = false;             // the results worker appended meanwhile: kept for the next sync
    std::vector<RejectedCv> rejected;  // CVs cold storage refused, and why (kept in hot storage)
    std::vector<std::string> erased;   // late results of erased candidates, not stored
};

// POST /jobs/{job_id}/sync: hot -> cold, incremental and idempotent, then clean-up.
Task<Synced> sync_job(Ports ports, std::string job_id, RequestContext request);

// GET /jobs/{job_id}/results.
Task<boost::json::object> job_results(Ports ports, std::string job_id);

struct Erased {
    std::string candidate_name;
};

// DELETE /jobs/{job_id}/candidates/{cv_id}: everywhere cvgate can reach.
Task<Erased> erase_candidate(Ports ports, std::string job_id, std::string cv_id);

}  // namespace cvgate::jobs
