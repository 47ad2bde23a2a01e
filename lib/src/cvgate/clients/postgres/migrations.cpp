#include <cvgate/clients/postgres/migrations.hpp>

#include <cvgate/clients/postgres/impl/errors.hpp>
#include <cvgate/clients/postgres/transaction.hpp>

#include <algorithm>
#include <array>
#include <set>

namespace cvgate::clients::postgres {
namespace {

// CONTRACT.md, "Cold-storage schema". Plain CREATE (no IF NOT EXISTS): a database that
// already has other tables by these names (the old gateway's) fails loudly instead of
// being silently adopted.
constexpr std::string_view v1_cold_storage = R"sql(
CREATE TABLE jobs (
    id             text PRIMARY KEY,
    correlation_id text,
    jd_text        text NOT NULL,
    status         text NOT NULL,
    total_cvs      integer NOT NULL DEFAULT 0,
    successful_cvs integer NOT NULL DEFAULT 0,
    failed_cvs     integer NOT NULL DEFAULT 0,
    created_at     timestamp,
    completed_at   timestamp
);
CREATE TABLE cv_analyses (
    id                bigserial PRIMARY KEY,
    job_id            text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    cv_id             text NOT NULL,
    original_filename text,
    candidate_name    text,
    match_score       double precision,
    recommendation    text,
    email             text,
    phone             text,
    analysis          jsonb NOT NULL,
    analyzed_at       timestamp NOT NULL DEFAULT now(),
    UNIQUE (job_id, cv_id)
);
CREATE INDEX ix_cv_analyses_job_id ON cv_analyses (job_id);
CREATE INDEX ix_cv_analyses_match_score ON cv_analyses (match_score);
CREATE INDEX ix_cv_analyses_recommendation ON cv_analyses (recommendation);
)sql";

// The CVs the pipeline failed on (the hot document's `errors`). Kept apart from
// cv_analyses, which holds successful analyses only, with the same (job_id, cv_id)
// uniqueness so that an incremental sync counts each failure once.
constexpr std::string_view v2_cv_failures = R"sql(
CREATE TABLE cv_failures (
    id        bigserial PRIMARY KEY,
    job_id    text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    cv_id     text NOT NULL,
    filename  text,
    error     text,
    failed_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    UNIQUE (job_id, cv_id)
);
)sql";

// Text PostgreSQL cannot hold (U+0000 in a string of a result): the jsonb/text columns get a
// copy with U+FFFD instead, and the original, lossless, is kept here as JSON text.
constexpr std::string_view v3_lossless_text = R"sql(
ALTER TABLE cv_analyses ADD COLUMN analysis_text text;
ALTER TABLE cv_failures ADD COLUMN entry_text text;
)sql";

// cvgate's own bookkeeping. cv_counters: the next cv index of each job that had an add-cvs
// or an erase, never lowered, so an index is handed out once whatever happens to the files
// and documents (a job without a row has handed out exactly 0..expected_files-1). erased_cvs:
// candidates erased (ids only), so that a late result of one never reaches cold storage.
constexpr std::string_view v4_cv_bookkeeping = R"sql(
CREATE TABLE cv_counters (
    job_id     text PRIMARY KEY,
    next_index bigint NOT NULL
);
CREATE TABLE erased_cvs (
    job_id    text NOT NULL,
    cv_id     text NOT NULL,
    erased_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (job_id, cv_id)
);
)sql";

// Idempotency-Key: the first request's claim (token, lease) and then its answer, replayed to
// retries until expires_at; shared by every replica.
constexpr std::string_view v5_idempotency_keys = R"sql(
CREATE TABLE idempotency_keys (
    key         text PRIMARY KEY,
    fingerprint text NOT NULL,
    token       text NOT NULL,
    answer      text,
    lease_until timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX ix_idempotency_keys_expires_at ON idempotency_keys (expires_at);
)sql";

constexpr std::array<Migration, 5> history{{
    {1, v1_cold_storage},
    {2, v2_cv_failures},
    {3, v3_lossless_text},
    {4, v4_cv_bookkeeping},
    {5, v5_idempotency_keys},
}};

}  // namespace

std::span<const Migration> cold_storage_migrations() noexcept { return history; }

int migrate(Connection& conn, std::span<const Migration> migrations, Deadline deadline) {
    for (std::size_t i = 1; i < migrations.size(); ++i)
        if (migrations[i].version <= migrations[i - 1].version)
            throw impl::error(ErrorKind::rejected, "migrations are not in strictly increasing version order");

    const Params key{param(migration_lock_key)};
    conn.query("SELECT pg_advisory_lock($1::bigint)", key, deadline);
    // On any failure the session is closed rather than unlocked: the server then releases
    // the lock whatever state the session was left in.
    try {
        conn.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())",
            {}, deadline);
        std::set<int> applied;
        const Result rows = conn.query("SELECT version FROM schema_migrations", {}, deadline);
        for (int r = 0; r < rows.rows(); ++r) applied.insert(rows.get<int>(r, 0));

        for (const Migration& m : migrations) {
            if (applied.count(m.version)) continue;
            Transaction tx{conn, deadline};
            conn.execute_script(std::string{m.sql}, deadline);
            tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", {param(m.version)});
            tx.commit();
            applied.insert(m.version);
        }
        conn.query("SELECT pg_advisory_unlock($1::bigint)", key, deadline);
        return applied.empty() ? 0 : *applied.rbegin();
    } catch (...) {
        conn.close();
        throw;
    }
}

boost::asio::awaitable<int> migrate(Pool& pool, Deadline deadline) {
    auto apply = [](Connection& conn, Deadline deadline) {
        return migrate(conn, cold_storage_migrations(), deadline);
    };
    co_return co_await pool.with_connection(apply, deadline);
}

}  // namespace cvgate::clients::postgres
