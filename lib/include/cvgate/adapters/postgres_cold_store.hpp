#pragma once
// Cold storage (PostgreSQL: `jobs`, `cv_analyses`, `cv_failures`, and what cvgate keeps for
// itself: `cv_counters`, `erased_cvs`) as the domain's ColdStore. Each pool call is named after
// the port operation it serves: the pool's observer is told of it under that name.

#include <cvgate/clients/postgres/pool.hpp>
#include <cvgate/jobs/ports.hpp>

namespace cvgate::adapters {

class PostgresColdStore final : public jobs::ColdStore {
public:
    explicit PostgresColdStore(clients::postgres::Pool& pool) : pool_{pool} {}

    jobs::Task<std::optional<jobs::ColdJob>> find(std::string_view job_id) override;
    jobs::Task<jobs::SyncOutcome> sync(const jobs::SyncBatch& batch) override;
    jobs::Task<std::optional<boost::json::object>> results(std::string_view job_id) override;
    jobs::Task<std::int64_t> allocate_cv_indexes(std::string_view job_id, std::int64_t count,
                                                 std::int64_t seed) override;
    jobs::Task<std::optional<std::string>> remove_candidate(std::string_view job_id, std::string_view cv_id,
                                                            bool known, std::int64_t seed) override;
    jobs::Task<void> ping() override;

private:
    clients::postgres::Pool& pool_;
};

}  // namespace cvgate::adapters
