#pragma once
// What the load harness measured: per operation, every latency (exact percentiles, no
// bucketing) and every answer's status; per session, how far it got. Single-threaded: only
// the harness's io_context thread records.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace cvgate::load {

struct Percentiles {
    std::uint64_t count = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // milliseconds
};

// The percentiles of `samples` (microseconds), nearest-rank; sorts them.
Percentiles percentiles(std::vector<std::uint32_t>& samples);

class Recorder {
public:
    using Duration = std::chrono::steady_clock::duration;

    // An answer (any status) to operation `op`, `latency` from the moment the session wanted
    // to send it (waiting for a free connection included: no coordinated omission).
    void answer(const std::string& op, unsigned status, Duration latency, std::uint64_t bytes_sent);
    // No answer at all: refused or reset connection, timeout.
    void transport_error(const std::string& op);
    // A session outcome ("accepted", "complete", "synced", "verified", "incomplete", ...).
    void session(const std::string& outcome) { ++sessions_[outcome]; }
    void session_time(Duration d);
    // An answer that had the expected status but the wrong content.
    void mismatch(const std::string& what) { ++mismatches_[what]; }

    std::uint64_t sessions(const std::string& outcome) const;
    std::uint64_t failures() const;  // transport errors, unexpected statuses, mismatches

    // The report over `seconds` of run: a table for people, or one JSON object.
    std::string table(double seconds) const;
    boost::json::object json(double seconds) const;

private:
    struct Op {
        std::vector<std::uint32_t> micros;
        std::map<unsigned, std::uint64_t> statuses;
        std::uint64_t transport_errors = 0;
        std::uint64_t bytes_sent = 0;
    };
    std::map<std::string, Op> ops_;
    std::map<std::string, std::uint64_t> sessions_;
    std::map<std::string, std::uint64_t> mismatches_;
    std::vector<std::uint32_t> session_micros_;
    std::vector<std::string> order_;  // operations in the order first seen

    Percentiles ops_percentiles(const Op& op) const;
};

// Whether `status` is what a healthy run answers for `op` (2xx).
bool is_success(unsigned status) noexcept;

}  // namespace cvgate::load
