#pragma once
// Idempotency keys in PostgreSQL (`idempotency_keys`), which every replica shares: a claim is
// one upsert, so two requests with one key never both win, whichever replica they reach.

#include <cvgate/clients/postgres/pool.hpp>
#include <cvgate/jobs/idempotency.hpp>

#include <chrono>

namespace cvgate::adapters {

class PostgresIdempotencyStore final : public jobs::IdempotencyStore {
public:
    // `ttl`: how long an answer is replayed. `lease`: how long a claim holds without an
    // answer before a retry may take the key over (longer than any request's work once its
    // body is read, so only a dead owner's claim runs out).
    PostgresIdempotencyStore(clients::postgres::Pool& pool, std::chrono::seconds ttl,
                             std::chrono::seconds lease)
        : pool_{pool}, ttl_{ttl}, lease_{lease} {}

    jobs::Task<jobs::KeyClaim> claim(std::string_view key, std::string_view fingerprint) override;
    jobs::Task<void> complete(std::string_view key, std::string_view token,
                              const boost::json::object& answer) override;
    jobs::Task<void> release(std::string_view key, std::string_view token) override;
    // Drops expired keys; how many.
    jobs::Task<std::int64_t> purge_expired();

private:
    clients::postgres::Pool& pool_;
    std::chrono::seconds ttl_;
    std::chrono::seconds lease_;
};

}  // namespace cvgate::adapters
