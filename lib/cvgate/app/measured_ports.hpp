#pragma once
// The domain's ports with every call timed and its failures counted per dependency:
// decorators, so neither the domain nor the adapters know about metrics.

#include <cvgate/app/metrics.hpp>
#include <cvgate/jobs/ports.hpp>

namespace cvgate::app {

class MeasuredHotStore final : public jobs::HotStore {
public:
    MeasuredHotStore(jobs::HotStore& inner, Metrics& metrics) : inner_{inner}, metrics_{metrics} {}
    jobs::Task<void> insert(const boost::json::object& document) override;
    jobs::Task<std::optional<boost::json::object>> find(std::string_view job_id) override;
    jobs::Task<bool> remove(std::string_view job_id) override;
    jobs::Task<bool> remove_if_unchanged(std::string_view job_id, const jobs::HotVersion& version) override;
    jobs::Task<std::optional<boost::json::object>> reopen(std::string_view job_id, std::int64_t added,
                                                          std::int64_t expected_before) override;
    jobs::Task<void> undo_reopen(std::string_view job_id, std::int64_t added,
                                 std::string_view old_status) override;
    jobs::Task<bool> undo_reopen_if_applied(std::string_view job_id, std::int64_t added,
                                            std::int64_t expected_before,
                                            std::string_view old_status) override;
    jobs::Task<std::optional<boost::json::object>> remove_candidate(std::string_view job_id,
                                                                    std::string_view cv_id) override;
    jobs::Task<void> ping() override;

private:
    jobs::HotStore& inner_;
    Metrics& metrics_;
};

class MeasuredColdStore final : public jobs::ColdStore {
public:
    MeasuredColdStore(jobs::ColdStore& inner, Metrics& metrics) : inner_{inner}, metrics_{metrics} {}
    jobs::Task<std::optional<jobs::ColdJob>> find(std::string_view job_id) override;
    jobs::Task<jobs::SyncOutcome> sync(const jobs::SyncBatch& batch) override;
    jobs::Task<std::optional<boost::json::object>> results(std::string_view job_id) override;
    jobs::Task<std::int64_t> allocate_cv_indexes(std::string_view job_id, std::int64_t count,
                                                 std::int64_t seed) override;
    jobs::Task<std::optional<std::string>> remove_candidate(std::string_view job_id, std::string_view cv_id,
                                                            bool known, std::int64_t seed) override;
    jobs::Task<void> ping() override;

private:
    jobs::ColdStore& inner_;
    Metrics& metrics_;
};

class MeasuredJobQueue final : public jobs::JobQueue {
public:
    MeasuredJobQueue(jobs::JobQueue& inner, Metrics& metrics) : inner_{inner}, metrics_{metrics} {}
    jobs::Task<void> publish(const boost::json::object& message, std::string_view correlation_id,
                             const ids::TraceContext& trace) override;
    jobs::Task<void> ping() override;

private:
    jobs::JobQueue& inner_;
    Metrics& metrics_;
};

class MeasuredUploadStore final : public jobs::UploadStore {
public:
    MeasuredUploadStore(jobs::UploadStore& inner, Metrics& metrics) : inner_{inner}, metrics_{metrics} {}
    jobs::Task<std::unique_ptr<jobs::StagedFile>> stage() override;
    jobs::Task<std::vector<std::string>> place(std::string_view job_id,
                                               std::vector<jobs::Placement> files) override;
    jobs::Task<void> remove(std::string_view job_id, std::vector<std::string> names) override;
    jobs::Task<void> remove_job(std::string_view job_id) override;
    jobs::Task<std::size_t> remove_cv(std::string_view job_id, std::string_view cv_id) override;
    jobs::Task<std::int64_t> next_cv_index(std::string_view job_id) override;
    jobs::Task<void> check_writable() override;

    jobs::Task<void> record(const jobs::Intent& intent) override;
    jobs::Task<void> forget(std::string_view intent_id) override;

private:
    jobs::UploadStore& inner_;
    Metrics& metrics_;
};

}  // namespace cvgate::app
