#pragma once
// Prometheus metrics for `GET /metrics`: requests by route, method and status with a latency
// histogram per route; upload bytes; submissions and rollbacks by stage; dependency call
// latency and errors (fed by the clients' call observers, application.cpp); gauges read at
// scrape time (in-flight requests, connections, pools).
// Recording a request takes no allocation, and the I/O threads write to shards of their own
// (no cache line bounces between cores per request); a scrape adds the shards up.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::app {

// A cumulative histogram with fixed upper bounds (seconds), updated with atomics.
class Histogram {
public:
    static constexpr std::array<double, 14> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
    // Its values at one moment, or the sum of several histograms' (shards of one series).
    struct Counts {
        std::array<std::uint64_t, bounds.size() + 1> buckets{};
        std::uint64_t count = 0;
        std::uint64_t sum_micros = 0;
    };

    void observe(double seconds) noexcept;
    void add_to(Counts& total) const noexcept;
    void render(std::string& out, std::string_view name, std::string_view labels) const;
    static void render(const Counts& counts, std::string& out, std::string_view name,
                       std::string_view labels);

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micros_{0};
};

class Metrics {
public:
    Metrics();
    // The routes' templates, set once before serving: each gets its own slot, so recording a
    // request needs no map and no allocation.
    void set_routes(const std::vector<std::string>& routes);

    // One finished HTTP request. `route` is the template that matched, or empty.
    void observe_request(std::string_view route, std::string_view method, unsigned status, double seconds,
                         std::uint64_t bytes_in);
    void observe_dependency(std::string_view dependency, std::string_view operation, double seconds, bool ok);
    void count_submission(std::string_view flow, std::string_view outcome);
    void count_rollback(std::string_view flow, std::string_view stage);
    void count_rollback_failure(std::string_view flow, std::string_view step);
    // An in-doubt call's end: accepted_late, rolled_back, or rolled_back_unsettled (it had not
    // returned within IN_DOUBT_SECONDS).
    void count_in_doubt(std::string_view flow, std::string_view outcome);

    // A value read at scrape time; `labels` like `pool="postgres"` (may be empty).
    void add_gauge(std::string name, std::string help, std::string labels, std::function<double()> read);

    std::string render() const;

private:
    // A route's requests as one thread records them. The mutex is its thread's alone but for
    // a scrape, so taking it is cheap; shards on cache lines of their own.
    struct alignas(64) RouteShard {
        Histogram latency;
        mutable std::mutex mutex;
        std::vector<std::pair<std::string, std::uint64_t>> by_method_status;  // "GET|200" -> count
    };
    // More shards than I/O threads are usual; threads beyond share them, still correctly.
    static constexpr std::size_t route_shards = 8;
    struct RouteSlot {
        std::string route;
        std::array<RouteShard, route_shards> shards;
    };
    struct Gauge {
        std::string name, help, labels;
        std::function<double()> read;
    };
    using LabeledCounters = std::map<std::string, std::uint64_t, std::less<>>;

    RouteSlot& slot_for(std::string_view route);
    static void bump(std::mutex& m, LabeledCounters& counters, std::string key);

    std::vector<std::unique_ptr<RouteSlot>> routes_;  // the last one is for unmatched paths
    std::atomic<std::uint64_t> upload_bytes_{0};

    mutable std::mutex mutex_;  // guards everything below
    std::map<std::string, std::unique_ptr<Histogram>, std::less<>> dependency_latency_;  // dep|op
    LabeledCounters dependency_errors_;                                                  // dep|op
    LabeledCounters submissions_;                                                        // flow|outcome
    LabeledCounters rollbacks_;                                                          // flow|stage
    LabeledCounters rollback_failures_;                                                  // flow|step
    LabeledCounters in_doubt_;                                                           // flow|outcome
    std::vector<Gauge> gauges_;
};

}  // namespace cvgate::app
