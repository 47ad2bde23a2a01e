#include "stats.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <numeric>

namespace cvgate::load {
namespace {

std::uint32_t to_micros(Recorder::Duration d) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX));
}

std::string format(const char* fmt, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

std::string ms(double v) { return v >= 1000 ? format("%.2fs", v / 1000) : format("%.1fms", v); }

}  // namespace

bool is_success(unsigned status) noexcept { return status >= 200 && status < 300; }

Percentiles percentiles(std::vector<std::uint32_t>& samples) {
    Percentiles p;
    p.count = samples.size();
    if (samples.empty()) return p;
    std::sort(samples.begin(), samples.end());
    auto rank = [&](double q) {
        auto i = static_cast<std::size_t>(q * static_cast<double>(samples.size()));
        return samples[std::min(i, samples.size() - 1)] / 1000.0;
    };
    p.p50 = rank(0.50);
    p.p90 = rank(0.90);
    p.p99 = rank(0.99);
    p.p999 = rank(0.999);
    p.max = samples.back() / 1000.0;
    p.mean =
        std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size()) / 1000.0;
    return p;
}

void Recorder::answer(const std::string& op, unsigned status, Duration latency, std::uint64_t bytes_sent) {
    auto [it, fresh] = ops_.try_emplace(op);
    if (fresh) order_.push_back(op);
    it->second.micros.push_back(to_micros(latency));
    ++it->second.statuses[status];
    it->second.bytes_sent += bytes_sent;
}

void Recorder::transport_error(const std::string& op) {
    auto [it, fresh] = ops_.try_emplace(op);
    if (fresh) order_.push_back(op);
    ++it->second.transport_errors;
}

void Recorder::session_time(Duration d) { session_micros_.push_back(to_micros(d)); }

std::uint64_t Recorder::sessions(const std::string& outcome) const {
    auto it = sessions_.find(outcome);
    return it == sessions_.end() ? 0 : it->second;
}

std::uint64_t Recorder::failures() const {
    std::uint64_t n = 0;
    for (const auto& [name, op] : ops_) {
        n += op.transport_errors;
        for (const auto& [status, count] : op.statuses)
            if (!is_success(status)) n += count;
    }
    for (const auto& [what, count] : mismatches_) n += count;
    return n;
}

Percentiles Recorder::ops_percentiles(const Op& op) const {
    auto copy = op.micros;
    return percentiles(copy);
}

std::string Recorder::table(double seconds) const {
    std::string out = format("%-10s %8s %9s %8s %7s %9s %9s %9s %9s %9s\n", "operation", "count", "req/s",
                             "non-2xx", "errors", "p50", "p90", "p99", "p99.9", "max");
    std::uint64_t total = 0;
    for (const auto& name : order_) {
        const Op& op = ops_.at(name);
        const Percentiles p = ops_percentiles(op);
        std::uint64_t bad = 0;
        for (const auto& [status, count] : op.statuses)
            if (!is_success(status)) bad += count;
        total += p.count;
        out += format("%-10s %8" PRIu64 " %9.1f %8" PRIu64 " %7" PRIu64 " %9s %9s %9s %9s %9s\n",
                      name.c_str(), p.count, static_cast<double>(p.count) / seconds, bad, op.transport_errors,
                      ms(p.p50).c_str(), ms(p.p90).c_str(), ms(p.p99).c_str(), ms(p.p999).c_str(),
                      ms(p.max).c_str());
    }
    out += format("%-10s %8" PRIu64 " %9.1f\n", "all", total, static_cast<double>(total) / seconds);
    for (const auto& name : order_) {
        const Op& op = ops_.at(name);
        std::string statuses;
        for (const auto& [status, count] : op.statuses) statuses += format(" %u×%" PRIu64, status, count);
        out += "  " + name + " statuses:" + statuses + "\n";
    }
    auto copy = session_micros_;
    const Percentiles s = percentiles(copy);
    if (s.count)
        out += format("session (submit → results) p50 %s, p90 %s, p99 %s, max %s over %" PRIu64 " sessions\n",
                      ms(s.p50).c_str(), ms(s.p90).c_str(), ms(s.p99).c_str(), ms(s.max).c_str(), s.count);
    std::string outcomes;
    for (const auto& [outcome, count] : sessions_)
        outcomes += format(" %s %" PRIu64 ",", outcome.c_str(), count);
    if (!outcomes.empty()) outcomes.pop_back();
    out += "sessions:" + outcomes + "\n";
    for (const auto& [what, count] : mismatches_)
        out += format("MISMATCH %s: %" PRIu64 "\n", what.c_str(), count);
    return out;
}

boost::json::object Recorder::json(double seconds) const {
    boost::json::object ops;
    for (const auto& name : order_) {
        const Op& op = ops_.at(name);
        const Percentiles p = ops_percentiles(op);
        boost::json::object statuses;
        for (const auto& [status, count] : op.statuses) statuses[std::to_string(status)] = count;
        ops[name] = boost::json::object{{"count", p.count},
                                        {"per_second", static_cast<double>(p.count) / seconds},
                                        {"transport_errors", op.transport_errors},
                                        {"statuses", std::move(statuses)},
                                        {"bytes_sent", op.bytes_sent},
                                        {"ms", boost::json::object{{"p50", p.p50},
                                                                   {"p90", p.p90},
                                                                   {"p99", p.p99},
                                                                   {"p99.9", p.p999},
                                                                   {"max", p.max},
                                                                   {"mean", p.mean}}}};
    }
    boost::json::object sessions;
    for (const auto& [outcome, count] : sessions_) sessions[outcome] = count;
    boost::json::object mismatches;
    for (const auto& [what, count] : mismatches_) mismatches[what] = count;
    auto copy = session_micros_;
    const Percentiles s = percentiles(copy);
    return {
        {"seconds", seconds},
        {"operations", std::move(ops)},
        {"sessions", std::move(sessions)},
        {"mismatches", std::move(mismatches)},
        {"session_ms", boost::json::object{{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}}},
        {"failures", failures()}};
}

}  // namespace cvgate::load
