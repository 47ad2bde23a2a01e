// GET /jobs/{job_id}/status: the hot document as stored.

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/flows.hpp>

namespace cvgate::jobs {

Task<boost::json::object> job_status(Ports p, std::string job_id) {
    auto doc = co_await p.hot.find(job_id);
    if (doc) co_return std::move(*doc);
    const auto synced = co_await p.cold.find(job_id);
    if (synced)
        throw Error{ErrorKind::not_found,
                    "Job was synced to cold storage; its results are at /jobs/" + job_id + "/results"};
    throw Error{ErrorKind::not_found, "Job not found"};
}

}  // namespace cvgate::jobs
