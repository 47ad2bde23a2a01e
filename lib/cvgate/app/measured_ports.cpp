#include <cvgate/app/measured_ports.hpp>

#include <chrono>
#include <exception>

namespace cvgate::app {
namespace {

// Awaits `call`, recording its latency and whether it failed.
template <typename T>
jobs::Task<T> timed(Metrics& metrics, std::string_view dependency, std::string_view operation,
                    jobs::Task<T> call) {
    const auto start = std::chrono::steady_clock::now();
    auto seconds = [start] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    std::exception_ptr failure;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(call);
            metrics.observe_dependency(dependency, operation, seconds(), true);
            co_return;
        } else {
            T result = co_await std::move(call);
            metrics.observe_dependency(dependency, operation, seconds(), true);
            co_return result;
        }
    } catch (...) {
        failure = std::current_exception();
    }
    metrics.observe_dependency(dependency, operation, seconds(), false);
    std::rethrow_exception(failure);
}

}  // namespace

jobs::Task<void> MeasuredHotStore::insert(const boost::json::object& d) {
    return timed(metrics_, "mongodb", "insert", inner_.insert(d));
}
jobs::Task<std::optional<boost::json::object>> MeasuredHotStore::find(std::string_view id) {
    return timed(metrics_, "mongodb", "find", inner_.find(id));
}
jobs::Task<bool> MeasuredHotStore::remove(std::string_view id) {
    return timed(metrics_, "mongodb", "delete", inner_.remove(id));
}
jobs::Task<bool> MeasuredHotStore::remove_if_unchanged(std::string_view id, const jobs::HotVersion& v) {
    return timed(metrics_, "mongodb", "delete_if_unchanged", inner_.remove_if_unchanged(id, v));
}
jobs::Task<std::optional<boost::json::object>> MeasuredHotStore::reopen(std::string_view id, std::int64_t n,
                                                                        std::int64_t before) {
    return timed(metrics_, "mongodb", "reopen", inner_.reopen(id, n, before));
}
jobs::Task<void> MeasuredHotStore::undo_reopen(std::string_view id, std::int64_t n, std::string_view s) {
    return timed(metrics_, "mongodb", "undo_reopen", inner_.undo_reopen(id, n, s));
}
jobs::Task<bool> MeasuredHotStore::undo_reopen_if_applied(std::string_view id, std::int64_t n,
                                                          std::int64_t before, std::string_view s) {
    return timed(metrics_, "mongodb", "undo_reopen", inner_.undo_reopen_if_applied(id, n, before, s));
}
jobs::Task<std::optional<boost::json::object>> MeasuredHotStore::remove_candidate(std::string_view id,
                                                                                  std::string_view cv) {
    return timed(metrics_, "mongodb", "remove_candidate", inner_.remove_candidate(id, cv));
}
jobs::Task<void> MeasuredHotStore::ping() { return timed(metrics_, "mongodb", "ping", inner_.ping()); }

jobs::Task<std::optional<jobs::ColdJob>> MeasuredColdStore::find(std::string_view id) {
    return timed(metrics_, "postgresql", "find", inner_.find(id));
}
jobs::Task<jobs::SyncOutcome> MeasuredColdStore::sync(const jobs::SyncBatch& b) {
    return timed(metrics_, "postgresql", "sync", inner_.sync(b));
}
jobs::Task<std::optional<boost::json::object>> MeasuredColdStore::results(std::string_view id) {
    return timed(metrics_, "postgresql", "results", inner_.results(id));
}
jobs::Task<std::int64_t> MeasuredColdStore::allocate_cv_indexes(std::string_view id, std::int64_t count,
                                                                std::int64_t seed) {
    return timed(metrics_, "postgresql", "allocate_cv_indexes", inner_.allocate_cv_indexes(id, count, seed));
}
jobs::Task<std::optional<std::string>> MeasuredColdStore::remove_candidate(std::string_view id,
                                                                           std::string_view cv, bool known,
                                                                           std::int64_t seed) {
    return timed(metrics_, "postgresql", "remove_candidate", inner_.remove_candidate(id, cv, known, seed));
}
jobs::Task<void> MeasuredColdStore::ping() { return timed(metrics_, "postgresql", "ping", inner_.ping()); }

jobs::Task<void> MeasuredJobQueue::publish(const boost::json::object& m, std::string_view c,
                                           const ids::TraceContext& t) {
    return timed(metrics_, "rabbitmq", "publish", inner_.publish(m, c, t));
}
jobs::Task<void> MeasuredJobQueue::ping() { return timed(metrics_, "rabbitmq", "ping", inner_.ping()); }

jobs::Task<std::unique_ptr<jobs::StagedFile>> MeasuredUploadStore::stage() {
    return timed(metrics_, "volume", "stage", inner_.stage());
}
jobs::Task<std::vector<std::string>> MeasuredUploadStore::place(std::string_view id,
                                                                std::vector<jobs::Placement> f) {
    return timed(metrics_, "volume", "place", inner_.place(id, std::move(f)));
}
jobs::Task<void> MeasuredUploadStore::remove(std::string_view id, std::vector<std::string> names) {
    return timed(metrics_, "volume", "remove", inner_.remove(id, std::move(names)));
}
jobs::Task<void> MeasuredUploadStore::remove_job(std::string_view id) {
    return timed(metrics_, "volume", "remove_job", inner_.remove_job(id));
}
jobs::Task<std::size_t> MeasuredUploadStore::remove_cv(std::string_view id, std::string_view cv) {
    return timed(metrics_, "volume", "remove_cv", inner_.remove_cv(id, cv));
}
jobs::Task<std::int64_t> MeasuredUploadStore::next_cv_index(std::string_view id) {
    return timed(metrics_, "volume", "next_cv_index", inner_.next_cv_index(id));
}
jobs::Task<void> MeasuredUploadStore::record(const jobs::Intent& intent) {
    return timed(metrics_, "volume", "record", inner_.record(intent));
}
jobs::Task<void> MeasuredUploadStore::forget(std::string_view id) {
    return timed(metrics_, "volume", "forget", inner_.forget(id));
}
jobs::Task<void> MeasuredUploadStore::check_writable() {
    return timed(metrics_, "volume", "check_writable", inner_.check_writable());
}

}  // namespace cvgate::app
