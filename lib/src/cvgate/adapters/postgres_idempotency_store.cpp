#include <cvgate/adapters/postgres_idempotency_store.hpp>

#include <cvgate/adapters/dependency_error.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace cvgate::adapters {

namespace pg = clients::postgres;

namespace {
// The keys live in cvgate's own PostgreSQL database: cold storage.
constexpr auto cold_storage = jobs::Dependency::cold_storage;
}  // namespace

jobs::Task<jobs::KeyClaim> PostgresIdempotencyStore::claim(std::string_view key,
                                                           std::string_view fingerprint) {
    const std::string token = ids::uuid_v4();
    boost::asio::steady_timer pause{co_await boost::asio::this_coro::executor};
    for (;;) {
        // Free, expired, or claimed by a request with the same content whose owner's lease ran
        // out (it died before answering): ours. Otherwise the row stays as it is.
        pg::Params take{key, fingerprint, token, static_cast<std::int64_t>(lease_.count()),
                        static_cast<std::int64_t>(ttl_.count())};
        std::string sql =
            "INSERT INTO idempotency_keys AS k (key, fingerprint, token, lease_until, expires_at) "
            "VALUES ($1, $2, $3, now() + make_interval(secs => $4::bigint), "
            "now() + make_interval(secs => $5::bigint)) "
            "ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, "
            "answer = NULL, lease_until = EXCLUDED.lease_until, expires_at = EXCLUDED.expires_at "
            "WHERE k.expires_at < now() "
            "OR (k.answer IS NULL AND k.lease_until < now() AND k.fingerprint = EXCLUDED.fingerprint) "
            "RETURNING token";
        auto taken = co_await translated(cold_storage, pool_.query(std::move(sql), std::move(take)));
        if (!taken.empty() && taken.text(0, 0) == token)
            co_return jobs::KeyClaim{jobs::KeyClaim::Outcome::claimed, token, {}};

        pg::Params look{key};
        std::string look_sql = "SELECT fingerprint, answer FROM idempotency_keys WHERE key = $1";
        auto held = co_await translated(cold_storage, pool_.query(std::move(look_sql), std::move(look)));
        if (held.empty()) continue;  // released meanwhile: try again
        if (held.text(0, 0) != fingerprint)
            co_return jobs::KeyClaim{jobs::KeyClaim::Outcome::mismatch, {}, {}};
        if (!held.is_null(0, 1)) {
            boost::json::value answer = boost::json::parse(held.text(0, 1));
            co_return jobs::KeyClaim{jobs::KeyClaim::Outcome::replay, {}, std::move(answer.as_object())};
        }
        // The first request with this key is still at work: wait for its answer.
        pause.expires_after(std::chrono::milliseconds{100});
        co_await pause.async_wait(boost::asio::use_awaitable);
    }
}

jobs::Task<void> PostgresIdempotencyStore::complete(std::string_view key, std::string_view token,
                                                    const boost::json::object& answer) {
    pg::Params params{key, token, boost::json::serialize(answer)};
    std::string sql = "UPDATE idempotency_keys SET answer = $3 WHERE key = $1 AND token = $2";
    co_await translated(cold_storage, pool_.query(std::move(sql), std::move(params)));
}

jobs::Task<void> PostgresIdempotencyStore::release(std::string_view key, std::string_view token) {
    pg::Params params{key, token};
    std::string sql = "DELETE FROM idempotency_keys WHERE key = $1 AND token = $2 AND answer IS NULL";
    co_await translated(cold_storage, pool_.query(std::move(sql), std::move(params)));
}

jobs::Task<std::int64_t> PostgresIdempotencyStore::purge_expired() {
    std::string sql = "DELETE FROM idempotency_keys WHERE expires_at < now()";
    pg::Params none;
    auto r = co_await translated(cold_storage, pool_.query(std::move(sql), std::move(none)));
    co_return r.affected_rows();
}

}  // namespace cvgate::adapters
