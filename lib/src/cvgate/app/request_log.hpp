#pragma once
// The log lines a request leaves: the access line the server reports for every request, the
// line of an unhandled error, and what the flows report (rollbacks, clean-up failures, CVs
// cold storage refused). Each names the request by its correlation id and its span of a W3C
// trace (`trace_id`, `span_id`), so one query finds every line of a request.

#include <cvgate/app/logging.hpp>
#include <cvgate/app/metrics.hpp>
#include <cvgate/http/request.hpp>
#include <cvgate/http/server.hpp>
#include <cvgate/jobs/ports.hpp>

#include <string_view>

namespace cvgate::app {

// One `request` line (info): method, path, route, status, bytes, duration, correlation id,
// trace and span ids, and the caller's span as `parent_span_id` when the trace came with it.
void log_access(Logger& logger, const http::AccessRecord& record);

// A handler threw something unexpected (error).
void log_unhandled_error(Logger& logger, const http::Request& request, std::string_view what);

// The flows' reports, as log lines an operator can act on and as metrics.
class FlowLog final : public jobs::Observer {
public:
    FlowLog(Logger& logger, Metrics& metrics) : logger_{logger}, metrics_{metrics} {}
    void accepted(std::string_view flow, std::size_t files) override;
    void rollback(std::string_view flow, std::string_view stage, std::string_view job_id,
                  std::string_view cause, const jobs::RequestContext& request) override;
    void rollback_failed(std::string_view flow, std::string_view step, std::string_view job_id,
                         std::string_view error, const jobs::RequestContext& request) override;
    void cleanup_failed(std::string_view job_id, std::string_view error,
                        const jobs::RequestContext& request) override;
    void cv_rejected(std::string_view job_id, std::string_view cv_id, std::string_view reason,
                     const jobs::RequestContext& request) override;
    void in_doubt(std::string_view flow, std::string_view stage, std::string_view job_id,
                  std::string_view outcome, bool settled, const jobs::RequestContext& request) override;

private:
    Logger& logger_;
    Metrics& metrics_;
};

}  // namespace cvgate::app
