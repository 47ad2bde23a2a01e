#include <cvgate/app/metrics.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using cvgate::app::Metrics;

TEST_CASE("request counters and histograms move with traffic, per route template", "[metrics]") {
    Metrics m;
    m.set_routes({"/healthz", "/jobs/{job_id}/status"});
    m.observe_request("/healthz", "GET", 200, 0.0003, 0);
    m.observe_request("/healthz", "GET", 200, 0.002, 0);
    m.observe_request("/jobs/{job_id}/status", "GET", 404, 0.02, 0);
    m.observe_request("", "POST", 404, 0.001, 10);
    const std::string text = m.render();
    CHECK_THAT(
        text, Catch::Contains(R"(cvgate_http_requests_total{route="/healthz",method="GET",status="200"} 2)"));
    CHECK_THAT(
        text,
        Catch::Contains(
            R"(cvgate_http_requests_total{route="/jobs/{job_id}/status",method="GET",status="404"} 1)"));
    CHECK_THAT(text, Catch::Contains(R"(cvgate_http_requests_total{route="",method="POST",status="404"} 1)"));
    CHECK_THAT(text, Catch::Contains(
                         R"(cvgate_http_request_duration_seconds_bucket{route="/healthz",le="0.0005"} 1)"));
    CHECK_THAT(text, Catch::Contains(
                         R"(cvgate_http_request_duration_seconds_bucket{route="/healthz",le="0.0025"} 2)"));
    CHECK_THAT(text, Catch::Contains(
                         R"(cvgate_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 2)"));
    CHECK_THAT(text, Catch::Contains(R"(cvgate_http_request_duration_seconds_count{route="/healthz"} 2)"));
    CHECK_THAT(text, Catch::Contains("cvgate_upload_bytes_total 10"));
}

TEST_CASE("requests recorded by many threads at once all count, summed over the threads' shards",
          "[metrics]") {
    Metrics m;
    m.set_routes({"/healthz"});
    constexpr int threads = 12;  // more than the shards: some threads share one
    constexpr int each = 2000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&m, t] {
            for (int i = 0; i < each; ++i) m.observe_request("/healthz", "GET", t % 2 ? 200 : 503, 0.0003, 1);
        });
    for (auto& t : pool) t.join();
    const std::string text = m.render();
    const std::string half = std::to_string(threads / 2 * each);
    CHECK_THAT(text,
               Catch::Contains(R"(cvgate_http_requests_total{route="/healthz",method="GET",status="200"} )" +
                               half + "\n"));
    CHECK_THAT(text,
               Catch::Contains(R"(cvgate_http_requests_total{route="/healthz",method="GET",status="503"} )" +
                               half + "\n"));
    const std::string all = std::to_string(threads * each);
    CHECK_THAT(text,
               Catch::Contains(R"(cvgate_http_request_duration_seconds_count{route="/healthz"} )" + all));
    CHECK_THAT(text,
               Catch::Contains(
                   R"(cvgate_http_request_duration_seconds_bucket{route="/healthz",le="0.0005"} )" + all));
    CHECK_THAT(text, Catch::Contains("cvgate_upload_bytes_total " + all));
}

TEST_CASE("dependency calls, submissions, rollbacks and gauges are rendered", "[metrics]") {
    Metrics m;
    m.observe_dependency("mongodb", "insert", 0.004, true);
    m.observe_dependency("mongodb", "insert", 3.0, false);
    m.count_submission("submit", "accepted");
    m.count_rollback("submit", "queue");
    m.count_rollback_failure("submit", "delete document");
    double in_flight = 3;
    m.add_gauge("cvgate_http_requests_in_flight", "Requests being served.", "", [&] { return in_flight; });
    const std::string text = m.render();
    CHECK_THAT(
        text,
        Catch::Contains(
            R"(cvgate_dependency_call_duration_seconds_count{dependency="mongodb",operation="insert"} 2)"));
    CHECK_THAT(text, Catch::Contains(
                         R"(cvgate_dependency_errors_total{dependency="mongodb",operation="insert"} 1)"));
    CHECK_THAT(text, Catch::Contains(R"(cvgate_submissions_total{flow="submit",outcome="accepted"} 1)"));
    CHECK_THAT(text, Catch::Contains(R"(cvgate_rollbacks_total{flow="submit",stage="queue"} 1)"));
    CHECK_THAT(text,
               Catch::Contains(R"(cvgate_rollback_failures_total{flow="submit",step="delete document"} 1)"));
    CHECK_THAT(text, Catch::Contains(
                         "# TYPE cvgate_http_requests_in_flight gauge\ncvgate_http_requests_in_flight 3"));
}
