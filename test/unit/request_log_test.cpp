// The flows' reports as log lines: each names the request by its correlation id and its trace.

#include <cvgate/app/request_log.hpp>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

using namespace cvgate;

namespace {

std::vector<boost::json::object> lines_of(const std::function<void(app::FlowLog&)>& body) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    {
        app::Logger logger{app::LogLevel::info, app::LogFormat::json, fds[1]};
        app::Metrics metrics;
        app::FlowLog flow_log{logger, metrics};
        body(flow_log);
        logger.flush();
    }
    ::close(fds[1]);
    std::string all;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    std::vector<boost::json::object> out;
    for (std::size_t start = 0, nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1)
        out.push_back(boost::json::parse(all.substr(start, nl - start)).as_object());
    return out;
}

}  // namespace

TEST_CASE("every flow report names the request's correlation id, trace id and span id", "[logging][trace]") {
    const jobs::RequestContext request{
        "corr-7",
        ids::TraceContext::for_request("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "")};
    const auto lines = lines_of([&](app::FlowLog& log) {
        log.rollback("submit", "queue", "job-1", "broker down", request);
        log.rollback_failed("submit", "remove files", "job-1", "EIO", request);
        log.cleanup_failed("job-1", "mongo down", request);
        log.cv_rejected("job-1", "job-1_000", "bad text", request);
    });
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].at("msg") == "rollback");
    CHECK(lines[0].at("stage") == "queue");
    for (const auto& line : lines) {
        CHECK(line.at("correlation_id") == "corr-7");
        CHECK(line.at("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736");
        CHECK(line.at("span_id").as_string() == request.trace.span_id());
        CHECK(line.at("job_id") == "job-1");
    }
}

TEST_CASE("a report of a request without a trace (a crash recovery's) has no trace fields",
          "[logging][trace]") {
    const jobs::RequestContext dead{"corr-8", {}};
    const auto lines =
        lines_of([&](app::FlowLog& log) { log.rollback("recovery:submit", "disk", "job-2", "died", dead); });
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].at("correlation_id") == "corr-8");
    CHECK_FALSE(lines[0].contains("trace_id"));
    CHECK_FALSE(lines[0].contains("span_id"));
}
