#include <cvgate/adapters/postgres_cold_store.hpp>

#include <cvgate/adapters/dependency_error.hpp>
#include <cvgate/clients/client_error.hpp>
#include <cvgate/clients/postgres/transaction.hpp>
#include <cvgate/text/json_fields.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace cvgate::adapters {

namespace pg = clients::postgres;
using boost::json::object;
using text::number_field;
using text::string_field;

namespace {

constexpr auto cold_storage = jobs::Dependency::cold_storage;

// Timestamps leave PostgreSQL as Python's isoformat() writes them.
constexpr std::string_view iso = R"('YYYY-MM-DD"T"HH24:MI:SS.US')";

const std::string select_job =
    std::string{
        "SELECT id, correlation_id, jd_text, status, total_cvs, successful_cvs, "
        "failed_cvs, to_char(created_at, "} +
    std::string{iso} + "), to_char(completed_at, " + std::string{iso} +
    R"SQL(),
       1 + GREATEST(
         (SELECT max(substring(cv_id FROM '_([0-9]+)$')::bigint) FROM cv_analyses WHERE job_id = $1),
         (SELECT max(substring(cv_id FROM '_([0-9]+)$')::bigint) FROM cv_failures WHERE job_id = $1),
         total_cvs - 1)
  FROM jobs WHERE id = $1)SQL";

constexpr const char* recount = R"SQL(
UPDATE jobs SET successful_cvs = s.ok, failed_cvs = s.failed, total_cvs = s.ok + s.failed
  FROM (SELECT (SELECT count(*) FROM cv_analyses WHERE job_id = $1) AS ok,
               (SELECT count(*) FROM cv_failures WHERE job_id = $1) AS failed) AS s
 WHERE id = $1)SQL";

jobs::ColdJob job_from(const pg::Result& r) {
    jobs::ColdJob job;
    job.id = r.get<std::string>(0, 0);
    job.correlation_id = r.get<std::optional<std::string>>(0, 1).value_or("");
    job.jd_text = r.get<std::string>(0, 2);
    job.status = r.get<std::string>(0, 3);
    job.total_cvs = r.get<std::int64_t>(0, 4);
    job.successful_cvs = r.get<std::int64_t>(0, 5);
    job.failed_cvs = r.get<std::int64_t>(0, 6);
    job.created_at = r.get<std::optional<std::string>>(0, 7).value_or("");
    job.completed_at = r.get<std::optional<std::string>>(0, 8).value_or("");
    job.next_cv_index = r.get<std::optional<std::int64_t>>(0, 9).value_or(0);
    return job;
}

// PostgreSQL's text and jsonb cannot hold U+0000. A copy with U+FFFD in its place, or nullopt
// when there was none (the caller then keeps the original, lossless, as JSON text as well).
bool holds_nul(const boost::json::value& v) {
    if (v.is_string()) return v.get_string().find('\0') != boost::json::string::npos;
    if (v.is_array()) {
        for (const auto& e : v.get_array())
            if (holds_nul(e)) return true;
    }
    if (v.is_object()) {
        for (const auto& kv : v.get_object())
            if (kv.key().find('\0') != std::string_view::npos || holds_nul(kv.value())) return true;
    }
    return false;
}

std::string without_nul(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '\0')
            out += "\xEF\xBF\xBD";
        else
            out += c;
    }
    return out;
}

boost::json::value sanitized(const boost::json::value& v) {
    if (v.is_string()) return boost::json::string{without_nul(v.get_string())};
    if (v.is_array()) {
        boost::json::array a;
        for (const auto& e : v.get_array()) a.push_back(sanitized(e));
        return a;
    }
    if (v.is_object()) {
        object o;
        for (const auto& kv : v.get_object()) o[without_nul(kv.key())] = sanitized(kv.value());
        return o;
    }
    return v;
}

// Serialises concurrent syncs (shared) against an erase (exclusive) of the same job, so that
// a result stored by a sync is never one of a candidate erased meanwhile.
constexpr const char* erase_lock_class = "20251111";

std::size_t insert_result(pg::Transaction& tx, const std::string& job_id, const std::string& cv_id,
                          const object& original) {
    const bool nul = holds_nul(original);
    const object r = nul ? sanitized(original).get_object() : original;
    auto filename = string_field(r, "original_filename");
    if (!filename) filename = string_field(r, "filename");
    auto res = tx.query(
        "INSERT INTO cv_analyses (job_id, cv_id, original_filename, candidate_name, match_score, "
        "recommendation, email, phone, analysis, analyzed_at, analysis_text) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, "
        "COALESCE($10::timestamp, now() AT TIME ZONE 'utc'), $11) "
        "ON CONFLICT (job_id, cv_id) DO NOTHING",
        pg::Params{job_id, cv_id, filename, string_field(r, "candidate_name"), number_field(r, "match_score"),
                   string_field(r, "recommendation"), string_field(r, "email"), string_field(r, "phone"),
                   boost::json::serialize(r), string_field(r, "analyzed_at"),
                   nul ? pg::Param{boost::json::serialize(original)} : pg::Param{}});
    return static_cast<std::size_t>(res.affected_rows());
}

std::size_t insert_failure(pg::Transaction& tx, const std::string& job_id, const std::string& cv_id,
                           const object& original) {
    const bool nul = holds_nul(original);
    const object e = nul ? sanitized(original).get_object() : original;
    auto res = tx.query(
        "INSERT INTO cv_failures (job_id, cv_id, filename, error, entry_text) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (job_id, cv_id) DO NOTHING",
        pg::Params{job_id, cv_id, string_field(e, "filename"), string_field(e, "error"),
                   nul ? pg::Param{boost::json::serialize(original)} : pg::Param{}});
    return static_cast<std::size_t>(res.affected_rows());
}

// The sync's transaction. `careful`: each CV under a savepoint, a CV the server refuses is
// reported instead of failing the whole sync.
jobs::SyncOutcome store(pg::Transaction& tx, const jobs::SyncBatch& batch, bool careful) {
    jobs::SyncOutcome out;
    tx.query(std::string{"SELECT pg_advisory_xact_lock_shared("} + erase_lock_class + ", hashtext($1))",
             pg::Params{batch.job_id});
    try {
        tx.query(
            "INSERT INTO jobs (id, correlation_id, jd_text, status, created_at, completed_at) "
            "VALUES ($1, $2, $3, 'completed', COALESCE($4::timestamp, now() AT TIME ZONE 'utc'), "
            "now() AT TIME ZONE 'utc') ON CONFLICT (id) DO NOTHING",
            pg::Params{batch.job_id, batch.correlation_id, batch.jd_text,
                       batch.created_at.empty() ? pg::Param{} : pg::Param{batch.created_at}});
    } catch (const clients::ClientError& e) {
        if (e.kind() != clients::ErrorKind::invalid_data) throw;
        throw clients::ClientError{clients::ErrorKind::invalid_data, clients::Dependency::postgres,
                                   "the job itself: " + e.message()};
    }
    std::set<std::string> erased;
    const auto erased_rows =
        tx.query("SELECT cv_id FROM erased_cvs WHERE job_id = $1", pg::Params{batch.job_id});
    for (int i = 0; i < erased_rows.rows(); ++i) erased.insert(std::string{erased_rows.text(i, 0)});

    auto each = [&](const boost::json::array& entries, auto insert) {
        for (const auto& entry : entries) {
            if (!entry.is_object()) continue;
            const auto cv_id = string_field(entry.get_object(), "cv_id");
            if (!cv_id) continue;
            if (erased.count(*cv_id)) {
                out.erased.push_back(*cv_id);
                continue;
            }
            if (!careful) {
                out.inserted += insert(tx, batch.job_id, *cv_id, entry.get_object());
                continue;
            }
            tx.query("SAVEPOINT cv");
            try {
                out.inserted += insert(tx, batch.job_id, *cv_id, entry.get_object());
                tx.query("RELEASE SAVEPOINT cv");
            } catch (const clients::ClientError& e) {
                if (e.kind() != clients::ErrorKind::invalid_data) throw;
                tx.query("ROLLBACK TO SAVEPOINT cv");
                out.rejected.push_back({*cv_id, e.message()});
            }
        }
    };
    each(batch.results, insert_result);
    each(batch.errors, insert_failure);
    tx.query(recount, pg::Params{batch.job_id});
    tx.query("UPDATE jobs SET status = 'completed', completed_at = now() AT TIME ZONE 'utc' WHERE id = $1",
             pg::Params{batch.job_id});
    return out;
}
}  // namespace

jobs::Task<std::optional<jobs::ColdJob>> PostgresColdStore::find(std::string_view job_id) {
    pg::Params params{job_id};
    auto r = co_await translated(cold_storage, pool_.query(select_job, std::move(params), "find"));
    if (r.empty()) co_return std::nullopt;
    co_return job_from(r);
}

jobs::Task<jobs::SyncOutcome> PostgresColdStore::sync(const jobs::SyncBatch& batch) {
    // One transaction. The unique (job_id, cv_id) constraint with ON CONFLICT DO NOTHING
    // makes a concurrent sync of the same job wait, then skip what the first one stored.
    try {
        co_return co_await translated(
            cold_storage, pool_.with_transaction(
                              [&batch](pg::Transaction& tx) { return store(tx, batch, false); }, "sync"));
    } catch (const jobs::DependencyError& e) {
        if (e.kind() != jobs::DependencyError::Kind::invalid_data) throw;
    }
    // The server refused a value: again, each CV under a savepoint, to store every other CV
    // and say which one and why (never a retry loop: the same data would fail the same way).
    co_return co_await translated(
        cold_storage,
        pool_.with_transaction([&batch](pg::Transaction& tx) { return store(tx, batch, true); }, "sync"));
}

jobs::Task<std::optional<object>> PostgresColdStore::results(std::string_view job_id) {
    pg::Params params{job_id};
    auto job_rows = co_await translated(cold_storage, pool_.query(select_job, std::move(params), "results"));
    if (job_rows.empty()) co_return std::nullopt;
    const jobs::ColdJob job = job_from(job_rows);

    pg::Params cv_params{job_id};
    auto rows = co_await translated(
        cold_storage,
        pool_.query(std::string{"SELECT COALESCE(analysis_text, analysis::text), cv_id, original_filename, "
                                "to_char(analyzed_at, "} +
                        std::string{iso} +
                        ") FROM cv_analyses WHERE job_id = $1 "
                        "ORDER BY match_score DESC NULLS LAST, cv_id",
                    std::move(cv_params), "results"));
    boost::json::array analyses;
    for (int i = 0; i < rows.rows(); ++i) {
        boost::json::value parsed = boost::json::parse(rows.text(i, 0));
        object analysis = parsed.is_object() ? std::move(parsed.get_object()) : object{};
        analysis["cv_id"] = rows.text(i, 1);
        if (!rows.is_null(i, 2) && !analysis.contains("original_filename"))
            analysis["original_filename"] = rows.text(i, 2);
        analysis["analyzed_at"] = rows.text(i, 3);
        analyses.push_back(std::move(analysis));
    }
    co_return object{{"job_id", job.id},
                     {"correlation_id", job.correlation_id},
                     {"jd_text", job.jd_text},
                     {"status", job.status},
                     {"total_cvs", job.total_cvs},
                     {"total_successful_cvs", job.successful_cvs},
                     {"failed_cvs", job.failed_cvs},
                     {"created_at", job.created_at},
                     {"completed_at", job.completed_at},
                     {"analyses", std::move(analyses)}};
}

jobs::Task<std::int64_t> PostgresColdStore::allocate_cv_indexes(std::string_view job_id, std::int64_t count,
                                                                std::int64_t seed) {
    // One statement: the row lock of the upsert serialises every replica's allocations.
    pg::Params params{job_id, seed, count};
    std::string sql =
        "INSERT INTO cv_counters AS c (job_id, next_index) VALUES ($1, $2::bigint + $3::bigint) "
        "ON CONFLICT (job_id) DO UPDATE SET next_index = GREATEST(c.next_index, $2::bigint) + $3::bigint "
        "RETURNING next_index - $3::bigint";
    auto r = co_await translated(cold_storage,
                                 pool_.query(std::move(sql), std::move(params), "allocate_cv_indexes"));
    co_return r.get<std::int64_t>(0, 0);
}

jobs::Task<std::optional<std::string>> PostgresColdStore::remove_candidate(std::string_view job_id,
                                                                           std::string_view cv_id, bool known,
                                                                           std::int64_t seed) {
    auto erase = [job = std::string{job_id}, cv = std::string{cv_id}, known,
                  seed](pg::Transaction& tx) -> std::optional<std::string> {
        tx.query(std::string{"SELECT pg_advisory_xact_lock("} + erase_lock_class + ", hashtext($1))",
                 pg::Params{job});
        auto analysis =
            tx.query("DELETE FROM cv_analyses WHERE job_id = $1 AND cv_id = $2 RETURNING candidate_name",
                     pg::Params{job, cv});
        auto failure =
            tx.query("DELETE FROM cv_failures WHERE job_id = $1 AND cv_id = $2", pg::Params{job, cv});
        const bool here = !analysis.empty() || failure.affected_rows() > 0;
        if (here) tx.query(recount, pg::Params{job});
        if (here || known) {
            tx.query("INSERT INTO erased_cvs (job_id, cv_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     pg::Params{job, cv});
            tx.query(
                "INSERT INTO cv_counters (job_id, next_index) VALUES ($1, $2) ON CONFLICT (job_id) DO "
                "NOTHING",
                pg::Params{job, seed});
        }
        if (!here) return std::nullopt;
        if (analysis.empty()) return std::string{};
        return analysis.get<std::optional<std::string>>(0, 0).value_or("");
    };
    co_return co_await translated(cold_storage, pool_.with_transaction(std::move(erase), "remove_candidate"));
}

jobs::Task<void> PostgresColdStore::ping() { co_await translated(cold_storage, pool_.ping("ping")); }

}  // namespace cvgate::adapters
