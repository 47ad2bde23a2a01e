#include <cvgate/app/request_log.hpp>

#include <boost/beast/http/verb.hpp>

#include <array>
#include <span>

namespace cvgate::app {
namespace {

// Fields that end with the request's correlation id, trace id and span id: all of them, or
// without the last two when the request has no trace (a crash recovery's, say).
template <std::size_t N>
std::span<const LogField> with_trace(const std::array<LogField, N>& fields, const ids::TraceContext& trace) {
    static_assert(N >= 3);
    return std::span<const LogField>{fields}.first(trace.empty() ? N - 2 : N);
}

}  // namespace

void log_access(Logger& logger, const http::AccessRecord& r) {
    if (!logger.enabled(LogLevel::info)) return;
    const std::string_view parent = r.trace.parent_span_id();
    const std::array<LogField, 11> fields{{{"method", boost::beast::http::to_string(r.method)},
                                           {"path", r.target},
                                           {"route", r.route},
                                           {"status", r.status},
                                           {"bytes_in", r.body_bytes_in},
                                           {"bytes_out", r.body_bytes_out},
                                           {"duration_ms", static_cast<double>(r.duration.count()) / 1000.0},
                                           {"correlation_id", r.correlation_id},
                                           {"trace_id", r.trace.trace_id()},
                                           {"span_id", r.trace.span_id()},
                                           {"parent_span_id", parent}}};
    // trace and span ids only when traced, the parent only when the trace came with one.
    const std::size_t count = r.trace.empty() ? 8 : parent.empty() ? 10 : 11;
    logger.log_fields(LogLevel::info, "request", std::span<const LogField>{fields}.first(count));
}

void log_unhandled_error(Logger& logger, const http::Request& req, std::string_view what) {
    const std::array<LogField, 5> fields{{{"route", req.route()},
                                          {"error", what},
                                          {"correlation_id", req.correlation_id()},
                                          {"trace_id", req.trace().trace_id()},
                                          {"span_id", req.trace().span_id()}}};
    logger.log_fields(LogLevel::error, "unhandled error", with_trace(fields, req.trace()));
}

void FlowLog::accepted(std::string_view flow, std::size_t) { metrics_.count_submission(flow, "accepted"); }

void FlowLog::rollback(std::string_view flow, std::string_view stage, std::string_view job_id,
                       std::string_view cause, const jobs::RequestContext& request) {
    metrics_.count_submission(flow, "rolled_back");
    metrics_.count_rollback(flow, stage);
    const std::array<LogField, 7> fields{{{"flow", flow},
                                          {"stage", stage},
                                          {"job_id", job_id},
                                          {"cause", cause},
                                          {"correlation_id", request.correlation_id},
                                          {"trace_id", request.trace.trace_id()},
                                          {"span_id", request.trace.span_id()}}};
    logger_.log_fields(LogLevel::warning, "rollback", with_trace(fields, request.trace));
}

void FlowLog::in_doubt(std::string_view flow, std::string_view stage, std::string_view job_id,
                       std::string_view outcome, bool settled, const jobs::RequestContext& request) {
    const std::string counted =
        settled || outcome == "accepted_late" ? std::string{outcome} : std::string{outcome} + "_unsettled";
    metrics_.count_in_doubt(flow, counted);
    const std::string_view message = outcome == "accepted_late"
                                         ? "in-doubt publish confirmed late: the job was accepted"
                                         : (settled ? "in-doubt call settled: rolled back"
                                                    : "in-doubt call did not settle in time: rolled back");
    const std::array<LogField, 8> fields{{{"flow", flow},
                                          {"stage", stage},
                                          {"job_id", job_id},
                                          {"outcome", outcome},
                                          {"settled", settled},
                                          {"correlation_id", request.correlation_id},
                                          {"trace_id", request.trace.trace_id()},
                                          {"span_id", request.trace.span_id()}}};
    logger_.log_fields(LogLevel::warning, message, with_trace(fields, request.trace));
}

void FlowLog::rollback_failed(std::string_view flow, std::string_view step, std::string_view job_id,
                              std::string_view error, const jobs::RequestContext& request) {
    metrics_.count_rollback_failure(flow, step);
    const std::array<LogField, 7> fields{{{"flow", flow},
                                          {"step", step},
                                          {"job_id", job_id},
                                          {"error", error},
                                          {"correlation_id", request.correlation_id},
                                          {"trace_id", request.trace.trace_id()},
                                          {"span_id", request.trace.span_id()}}};
    logger_.log_fields(LogLevel::error, "rollback step failed", with_trace(fields, request.trace));
}

void FlowLog::cleanup_failed(std::string_view job_id, std::string_view error,
                             const jobs::RequestContext& request) {
    const std::array<LogField, 5> fields{{{"job_id", job_id},
                                          {"error", error},
                                          {"correlation_id", request.correlation_id},
                                          {"trace_id", request.trace.trace_id()},
                                          {"span_id", request.trace.span_id()}}};
    logger_.log_fields(LogLevel::error, "hot storage clean-up failed", with_trace(fields, request.trace));
}

void FlowLog::cv_rejected(std::string_view job_id, std::string_view cv_id, std::string_view reason,
                          const jobs::RequestContext& request) {
    const std::array<LogField, 6> fields{{{"job_id", job_id},
                                          {"cv_id", cv_id},
                                          {"reason", reason},
                                          {"correlation_id", request.correlation_id},
                                          {"trace_id", request.trace.trace_id()},
                                          {"span_id", request.trace.span_id()}}};
    logger_.log_fields(LogLevel::error, "cold storage refused a CV; it stays in hot storage",
                       with_trace(fields, request.trace));
}

}  // namespace cvgate::app
