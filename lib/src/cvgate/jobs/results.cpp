// GET /jobs/{job_id}/results: the job and its successful analyses, from cold storage.

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/flows.hpp>

namespace cvgate::jobs {

Task<boost::json::object> job_results(Ports p, std::string job_id) {
    auto results = co_await p.cold.results(job_id);
    if (!results)
        throw Error{
            ErrorKind::not_found,
            "Job results not found; once the job is complete, sync it first: POST /jobs/" + job_id + "/sync"};
    co_return std::move(*results);
}

}  // namespace cvgate::jobs
