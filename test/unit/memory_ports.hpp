#pragma once
// In-memory hot store, cold store and queue for unit tests of the domain's orchestration:
// each can be told to fail its next call of a given operation. Never proof that an adapter
// works: the integration tests do that against the real servers.

#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/ports.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace cvgate::test {

// A port's failure as an adapter throws it: certain, or in doubt (a timeout carrying the call's
// settlement).
inline jobs::DependencyError dependency_failure(jobs::Dependency dependency, const std::string& message,
                                                std::shared_ptr<exec::Settlement> settlement = nullptr) {
    using Kind = jobs::DependencyError::Kind;
    using Cause = jobs::DependencyError::Cause;
    const bool in_doubt = settlement != nullptr;
    return jobs::DependencyError{dependency,
                                 in_doubt ? Kind::timeout : Kind::unavailable,
                                 in_doubt ? Cause::timeout : Cause::error,
                                 message,
                                 message,
                                 std::move(settlement)};
}

// Names an operation to fail on its next call: at once (a certain failure), or in doubt —
// the operation takes effect, but its caller is told of a timeout that carries `settlement`,
// as when the reply comes after the deadline or is lost (doubt_next), or it does not
// (lose_next).
class FailureSwitch {
public:
    void fail_next(const std::string& op) { armed_.insert(op); }
    void doubt_next(const std::string& op, std::shared_ptr<exec::Settlement> settlement) {
        doubted_[op] = std::move(settlement);
    }
    // In doubt without taking effect: the request was lost on its way.
    void lose_next(const std::string& op, std::shared_ptr<exec::Settlement> settlement) {
        lost_[op] = std::move(settlement);
    }
    void check(const std::string& op, jobs::Dependency dependency) {
        if (armed_.erase(op)) throw dependency_failure(dependency, "injected failure: " + op);
        if (auto it = lost_.find(op); it != lost_.end()) {
            auto settlement = std::move(it->second);
            lost_.erase(it);
            throw dependency_failure(dependency, "injected timeout: " + op, std::move(settlement));
        }
    }
    // After the operation took effect.
    void check_doubt(const std::string& op, jobs::Dependency dependency) {
        auto it = doubted_.find(op);
        if (it == doubted_.end()) return;
        auto settlement = std::move(it->second);
        doubted_.erase(it);
        throw dependency_failure(dependency, "injected timeout: " + op, std::move(settlement));
    }

private:
    std::set<std::string> armed_;
    std::map<std::string, std::shared_ptr<exec::Settlement>> doubted_;
    std::map<std::string, std::shared_ptr<exec::Settlement>> lost_;
};

class MemoryHotStore final : public jobs::HotStore {
public:
    std::map<std::string, boost::json::object> docs;
    FailureSwitch failures;

    jobs::Task<void> insert(const boost::json::object& document) override {
        failures.check("insert", jobs::Dependency::hot_storage);
        const std::string id{document.at("_id").as_string()};
        if (docs.contains(id)) throw dependency_failure(jobs::Dependency::hot_storage, "duplicate");
        docs[id] = document;
        failures.check_doubt("insert", jobs::Dependency::hot_storage);
        co_return;
    }
    jobs::Task<std::optional<boost::json::object>> find(std::string_view job_id) override {
        failures.check("find", jobs::Dependency::hot_storage);
        auto it = docs.find(std::string{job_id});
        if (it == docs.end()) co_return std::nullopt;
        co_return it->second;
    }
    jobs::Task<bool> remove(std::string_view job_id) override {
        failures.check("remove", jobs::Dependency::hot_storage);
        co_return docs.erase(std::string{job_id}) > 0;
    }
    jobs::Task<bool> remove_if_unchanged(std::string_view job_id, const jobs::HotVersion& v) override {
        failures.check("remove_if_unchanged", jobs::Dependency::hot_storage);
        auto it = docs.find(std::string{job_id});
        if (it == docs.end()) co_return false;
        const auto& d = it->second;
        if (d.at("status").as_string() != v.status || d.at("results").as_array().size() != v.results ||
            d.at("errors").as_array().size() != v.errors)
            co_return false;
        docs.erase(it);
        co_return true;
    }
    jobs::Task<std::optional<boost::json::object>> reopen(std::string_view job_id, std::int64_t added,
                                                          std::int64_t expected_before) override {
        failures.check("reopen", jobs::Dependency::hot_storage);
        auto it = docs.find(std::string{job_id});
        if (it == docs.end() || it->second["expected_files"].as_int64() != expected_before)
            co_return std::nullopt;
        auto before = it->second;
        it->second["expected_files"] = expected_before + added;
        it->second["status"] = "pending";
        failures.check_doubt("reopen", jobs::Dependency::hot_storage);
        co_return before;
    }
    jobs::Task<void> undo_reopen(std::string_view job_id, std::int64_t added,
                                 std::string_view old_status) override {
        failures.check("undo_reopen", jobs::Dependency::hot_storage);
        auto it = docs.find(std::string{job_id});
        if (it != docs.end()) {
            it->second["expected_files"] = it->second["expected_files"].as_int64() - added;
            it->second["status"] = old_status;
        }
        co_return;
    }
    jobs::Task<bool> undo_reopen_if_applied(std::string_view job_id, std::int64_t added,
                                            std::int64_t expected_before,
                                            std::string_view old_status) override {
        failures.check("undo_reopen", jobs::Dependency::hot_storage);
        auto it = docs.find(std::string{job_id});
        if (it == docs.end() || it->second["expected_files"].as_int64() != expected_before + added)
            co_return false;
        it->second["expected_files"] = expected_before;
        it->second["status"] = old_status;
        co_return true;
    }
    jobs::Task<std::optional<boost::json::object>> remove_candidate(std::string_view job_id,
                                                                    std::string_view cv_id) override {
        failures.check("remove_candidate", jobs::Dependency::hot_storage);
        auto it = docs.find(std::string{job_id});
        if (it == docs.end()) co_return std::nullopt;
        auto before = it->second;
        bool removed = false;
        for (const char* key : {"results", "errors"}) {
            auto& arr = it->second[key].as_array();
            for (auto e = arr.begin(); e != arr.end();) {
                if (e->as_object().at("cv_id").as_string() == cv_id) {
                    e = arr.erase(e);
                    removed = true;
                } else {
                    ++e;
                }
            }
        }
        if (!removed) co_return std::nullopt;
        it->second["expected_files"] = it->second["expected_files"].as_int64() - 1;
        co_return before;
    }
    jobs::Task<void> ping() override {
        failures.check("ping", jobs::Dependency::hot_storage);
        co_return;
    }
};

class MemoryColdStore final : public jobs::ColdStore {
public:
    struct Row {
        boost::json::object analysis;
        bool failed = false;
    };
    std::map<std::string, jobs::ColdJob> jobs;
    std::map<std::string, std::map<std::string, Row>> cvs;  // job -> cv_id -> row
    std::map<std::string, std::int64_t> counters;           // job -> next cv index
    std::set<std::pair<std::string, std::string>> erased;   // (job, cv_id)
    FailureSwitch failures;
    // Runs inside sync, before anything is stored: what happens elsewhere meanwhile (the
    // results worker appending, a concurrent sync cleaning up).
    std::function<void()> during_sync;

    jobs::Task<std::optional<jobs::ColdJob>> find(std::string_view job_id) override {
        failures.check("find", jobs::Dependency::cold_storage);
        auto it = jobs.find(std::string{job_id});
        if (it == jobs.end()) co_return std::nullopt;
        co_return it->second;
    }
    jobs::Task<jobs::SyncOutcome> sync(const jobs::SyncBatch& b) override {
        failures.check("sync", jobs::Dependency::cold_storage);
        if (during_sync) during_sync();
        auto& job = jobs[b.job_id];
        job.id = b.job_id;
        job.correlation_id = b.correlation_id;
        job.jd_text = b.jd_text;
        job.created_at = b.created_at;
        job.status = "completed";
        jobs::SyncOutcome out;
        auto& rows = cvs[b.job_id];
        auto store = [&](const boost::json::array& entries, bool failed) {
            for (const auto& r : entries) {
                std::string cv{r.as_object().at("cv_id").as_string()};
                if (erased.count({b.job_id, cv}))
                    out.erased.push_back(cv);
                else
                    out.inserted += rows.emplace(cv, Row{r.as_object(), failed}).second;
            }
        };
        store(b.results, false);
        store(b.errors, true);
        job.successful_cvs = job.failed_cvs = 0;
        for (const auto& [id, row] : rows) (row.failed ? job.failed_cvs : job.successful_cvs)++;
        job.total_cvs = job.successful_cvs + job.failed_cvs;
        job.next_cv_index = static_cast<std::int64_t>(rows.size());
        co_return out;
    }
    jobs::Task<std::optional<boost::json::object>> results(std::string_view job_id) override {
        failures.check("results", jobs::Dependency::cold_storage);
        auto it = jobs.find(std::string{job_id});
        if (it == jobs.end()) co_return std::nullopt;
        boost::json::array analyses;
        for (const auto& [id, row] : cvs[it->first])
            if (!row.failed) analyses.push_back(row.analysis);
        co_return boost::json::object{{"job_id", it->first},
                                      {"total_cvs", it->second.total_cvs},
                                      {"total_successful_cvs", it->second.successful_cvs},
                                      {"failed_cvs", it->second.failed_cvs},
                                      {"analyses", std::move(analyses)}};
    }
    jobs::Task<std::int64_t> allocate_cv_indexes(std::string_view job_id, std::int64_t count,
                                                 std::int64_t seed) override {
        failures.check("allocate_cv_indexes", jobs::Dependency::cold_storage);
        auto [it, fresh] = counters.emplace(std::string{job_id}, seed);
        it->second = std::max(it->second, seed);
        const std::int64_t first = it->second;
        it->second += count;
        co_return first;
    }
    jobs::Task<std::optional<std::string>> remove_candidate(std::string_view job_id, std::string_view cv_id,
                                                            bool known, std::int64_t seed) override {
        failures.check("remove_candidate", jobs::Dependency::cold_storage);
        auto it = cvs.find(std::string{job_id});
        const bool here = it != cvs.end() && it->second.count(std::string{cv_id});
        if (here || known) {
            erased.insert({std::string{job_id}, std::string{cv_id}});
            counters.emplace(std::string{job_id}, seed);
        }
        if (!here) co_return std::nullopt;
        auto row = it->second.find(std::string{cv_id});
        std::string name;
        if (const auto* n = row->second.analysis.if_contains("candidate_name"); n && n->is_string())
            name = n->as_string();
        it->second.erase(row);
        co_return name;
    }
    jobs::Task<void> ping() override {
        failures.check("ping", jobs::Dependency::cold_storage);
        co_return;
    }
};

class MemoryQueue final : public jobs::JobQueue {
public:
    std::vector<boost::json::object> published;
    std::vector<ids::TraceContext> traces;  // the trace each message was published with
    FailureSwitch failures;

    jobs::Task<void> publish(const boost::json::object& message, std::string_view,
                             const ids::TraceContext& trace) override {
        failures.check("publish", jobs::Dependency::job_queue);
        published.push_back(message);
        failures.check_doubt("publish", jobs::Dependency::job_queue);
        traces.push_back(trace);
        co_return;
    }
    jobs::Task<void> ping() override {
        failures.check("ping", jobs::Dependency::job_queue);
        co_return;
    }
};

// Runs a coroutine to completion on a private io_context; rethrows what it threw.
template <typename T>
T run(boost::asio::awaitable<T> task) {
    boost::asio::io_context ioc;
    auto future = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
    ioc.run();
    return future.get();
}

}  // namespace cvgate::test
