// The PostgreSQL client against a real server: parameters, types, transactions, error
// kinds, migrations under concurrency, deadlines, the pool bound, and outages.

#include "integration/stack_support.hpp"

#include <cvgate/clients/client_error.hpp>
#include <cvgate/clients/postgres/migrations.hpp>
#include <cvgate/clients/postgres/pool.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace cvgate;
using namespace cvgate::clients::postgres;
using namespace std::chrono_literals;
using clients::ClientError;
using clients::ErrorKind;

namespace {

namespace asio = boost::asio;

// One I/O thread (as in the server: an io_context per thread) and a blocking pool.
struct Runtime {
    asio::io_context io{1};
    exec::BlockingPool blocking{8};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread{[this] { io.run(); }};

    ~Runtime() {
        guard.reset();
        io.stop();
        thread.join();
    }

    template <typename T>
    std::future<T> spawn(asio::awaitable<T> op) {
        return asio::co_spawn(io, std::move(op), asio::use_future);
    }
    template <typename T>
    T run(asio::awaitable<T> op) {
        return spawn(std::move(op)).get();
    }
};

// Runs at scope exit unless dismissed: a stopped server must be started again even when
// the test fails half-way.
class ScopeGuard {
public:
    explicit ScopeGuard(std::function<void()> fn) : fn_{std::move(fn)} {}
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ~ScopeGuard() {
        if (fn_) fn_();
    }
    void dismiss() { fn_ = nullptr; }

private:
    std::function<void()> fn_;
};

void start_postgres_quietly() {
    try {
        test::stack_ctl("start postgres");
    } catch (const std::exception& e) {
        WARN("could not restart postgres: " << e.what());
    }
}

template <typename F>
std::optional<ClientError> client_error_of(F&& fn) {
    try {
        fn();
    } catch (const ClientError& e) {
        return e;
    }
    return std::nullopt;
}

Deadline in(std::chrono::milliseconds ms) { return Deadline::after(ms); }

std::string url_of_database(const std::string& name) {
    std::string url = test::stack_env().database_url;
    return url.substr(0, url.rfind('/') + 1) + name;
}

// An empty database of that name (dropped first if a previous run left it).
std::string fresh_database(const std::string& name) {
    Connection admin = Connection::open({.url = test::stack_env().database_url}, in(10s));
    admin.query("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", {}, in(10s));
    admin.query("CREATE DATABASE " + name, {}, in(10s));
    return url_of_database(name);
}

// One database with the cold-storage schema, shared by the tests of this executable.
const std::string& schema_url() {
    static const std::string url = [] {
        std::string u = fresh_database("cvgate_pg_test");
        Connection conn = Connection::open({.url = u}, in(10s));
        migrate(conn, cold_storage_migrations(), in(30s));
        return u;
    }();
    return url;
}

int latest_version() { return cold_storage_migrations().back().version; }
std::int64_t migration_count() { return static_cast<std::int64_t>(cold_storage_migrations().size()); }

PoolOptions pool_options(const std::string& url, std::size_t size, std::string app = "cvgate-test") {
    PoolOptions o;
    o.connection.url = url;
    o.connection.application_name = std::move(app);
    o.size = size;
    return o;
}

std::string unique_job_id() {
    static std::atomic<int> n{0};
    return "job-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" +
           std::to_string(Clock::now().time_since_epoch().count());
}

asio::awaitable<void> insert_job(Pool& pool, const std::string& id) {
    co_await pool.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, $2, $3)",
                        {id, "We are looking for a C++ engineer", "completed"});
}

std::int64_t count(Pool& pool, Runtime& rt, const std::string& sql, Params params = {}) {
    return rt.run(pool.query(sql, std::move(params))).get<std::int64_t>(0, 0);
}

}  // namespace

TEST_CASE("parameters are never interpolated: quotes, comment marks and DROP TABLE round-trip as data") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 2)};
    const std::string id = unique_job_id();
    const std::string hostile = "O'Brien\"; DROP TABLE jobs; --'); DELETE FROM jobs; $1 \\x00 %s";

    rt.run(pool.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, $2, 'pending')", {id, hostile}));

    const Result r = rt.run(pool.query("SELECT jd_text, $2::text FROM jobs WHERE id = $1", {id, hostile}));
    REQUIRE(r.rows() == 1);
    CHECK(r.get<std::string>(0, 0) == hostile);
    CHECK(r.text(0, 1) == hostile);
    CHECK(count(pool, rt, "SELECT count(*) FROM jobs WHERE id = $1", {id}) == 1);
}

TEST_CASE("NULLs, unicode and numbers round-trip through parameters and typed accessors") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 2)};
    const std::string unicode = "Zoë Łukasz 山田太郎 — ✓ 🚀";

    const Result r =
        rt.run(pool.query("SELECT $1::text, $2::text, $3::bigint, $4::double precision, $5::boolean, "
                          "$6::int, $7::double precision",
                          {unicode, std::nullopt, std::int64_t{-9'007'199'254'740'993}, 0.1 + 0.2, true,
                           std::optional<int>{}, 87.5}));

    REQUIRE(r.rows() == 1);
    CHECK(r.get<std::string>(0, 0) == unicode);
    CHECK(r.is_null(0, 1));
    CHECK(r.text(0, 1).empty());
    CHECK(r.get<std::optional<std::string>>(0, 1) == std::nullopt);
    CHECK(r.get<std::int64_t>(0, 2) == -9'007'199'254'740'993);
    CHECK(r.get<double>(0, 3) == 0.1 + 0.2);  // exact: the shortest round-trip text both ways
    CHECK(r.get<bool>(0, 4));
    CHECK_FALSE(r.get<std::optional<int>>(0, 5).has_value());
    CHECK(r.get<std::optional<double>>(0, 6) == 87.5);

    const auto null_into_value = client_error_of([&] { (void)r.get<std::string>(0, 1); });
    REQUIRE(null_into_value);
    CHECK(null_into_value->kind() == ErrorKind::rejected);
    const auto text_into_number = client_error_of([&] { (void)r.get<std::int64_t>(0, 0); });
    REQUIRE(text_into_number);
    CHECK(text_into_number->kind() == ErrorKind::rejected);

    // jsonb keeps every field, whatever the pipeline adds next.
    const std::string id = unique_job_id();
    rt.run(insert_job(pool, id));
    rt.run(
        pool.query("INSERT INTO cv_analyses (job_id, cv_id, candidate_name, match_score, analysis) "
                   "VALUES ($1, $2, $3, $4, $5::jsonb)",
                   {id, "cv_000", unicode, 91.25,
                    R"({"candidate_name": "Zoë", "skills": ["C++"], "risk_assessment": null})"}));
    const Result a = rt.run(pool.query(
        "SELECT candidate_name, match_score, analysis->>'candidate_name', analysis ? 'risk_assessment', "
        "analyzed_at IS NOT NULL FROM cv_analyses WHERE job_id = $1",
        {id}));
    CHECK(a.get<std::string>(0, "candidate_name") == unicode);
    CHECK(a.get<double>(0, "match_score") == 91.25);
    CHECK(a.get<std::string>(0, 2) == "Zoë");
    CHECK(a.get<bool>(0, 3));
    CHECK(a.get<bool>(0, 4));
}

TEST_CASE("a transaction commits when its function returns and rolls back when it throws") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 2)};
    const std::string kept = unique_job_id();
    const std::string lost = unique_job_id();

    const std::int64_t inserted = rt.run(pool.with_transaction([&](Transaction& tx) {
        tx.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, 'jd', 'completed')", {kept});
        return tx
            .query(
                "INSERT INTO cv_analyses (job_id, cv_id, analysis) VALUES ($1, 'a', '{}'), ($1, 'b', '{}')",
                {kept})
            .affected_rows();
    }));
    CHECK(inserted == 2);
    CHECK(count(pool, rt, "SELECT count(*) FROM cv_analyses WHERE job_id = $1", {kept}) == 2);

    CHECK_THROWS_WITH(rt.run(pool.with_transaction([&](Transaction& tx) {
        tx.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, 'jd', 'completed')", {lost});
        throw std::runtime_error{"boom"};
    })),
                      "boom");
    CHECK(count(pool, rt, "SELECT count(*) FROM jobs WHERE id = $1", {lost}) == 0);

    // A failed statement whose error fn swallows must not be committed as if nothing happened.
    const auto swallowed = client_error_of([&] {
        rt.run(pool.with_transaction([&](Transaction& tx) {
            tx.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, 'jd', 'completed')", {lost});
            try {
                tx.query("SELECT 1/0");
            } catch (const ClientError&) {
            }
        }));
    });
    REQUIRE(swallowed);
    CHECK(swallowed->kind() == ErrorKind::rejected);
    CHECK(count(pool, rt, "SELECT count(*) FROM jobs WHERE id = $1", {lost}) == 0);

    // Connections came back clean: a new transaction on each of them works.
    for (int i = 0; i < 4; ++i)
        CHECK(rt.run(pool.with_transaction(
                  [](Transaction& tx) { return tx.query("SELECT 7").get<int>(0, 0); })) == 7);
}

TEST_CASE("a unique violation surfaces as conflict, naming the constraint but not the values") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 1)};
    const std::string id = unique_job_id();
    rt.run(insert_job(pool, id));
    const std::string insert_cv =
        "INSERT INTO cv_analyses (job_id, cv_id, email, analysis) VALUES ($1, $2, $3, '{}')";
    rt.run(pool.query(insert_cv, {id, "cv_007", "secret.person@example.com"}));

    const auto duplicate = client_error_of([&] {
        rt.run(pool.query(insert_cv, {id, "cv_007", "secret.person@example.com"}));
    });
    REQUIRE(duplicate);
    CHECK(duplicate->kind() == ErrorKind::conflict);
    CHECK(duplicate->dependency() == clients::Dependency::postgres);
    const std::string text = duplicate->what();
    CHECK_THAT(text, Catch::Contains("23505") && Catch::Contains("cv_analyses_job_id_cv_id_key"));
    CHECK_THAT(text, !Catch::Contains("cv_007") && !Catch::Contains(id));

    // ON CONFLICT DO NOTHING is how sync deduplicates: no error, nothing inserted.
    const Result again =
        rt.run(pool.query(insert_cv + " ON CONFLICT (job_id, cv_id) DO NOTHING", {id, "cv_007", "x"}));
    CHECK(again.affected_rows() == 0);

    const auto orphan = client_error_of([&] {
        rt.run(pool.query(insert_cv, {unique_job_id(), "cv_000", "x"}));
    });
    REQUIRE(orphan);
    CHECK(orphan->kind() == ErrorKind::not_found);

    const auto bad_sql = client_error_of([&] { rt.run(pool.query("SELEKT 1")); });
    REQUIRE(bad_sql);
    CHECK(bad_sql->kind() == ErrorKind::rejected);

    // The one connection survived all of it.
    CHECK(count(pool, rt, "SELECT count(*) FROM cv_analyses WHERE job_id = $1", {id}) == 1);
    CHECK(pool.stats().open == 1);
}

TEST_CASE("migrate is idempotent and migration 1 creates the contract's schema exactly") {
    Runtime rt;
    const std::string url = fresh_database("cvgate_pg_migrate_once");
    Pool pool{rt.blocking, pool_options(url, 1)};

    CHECK(rt.run(migrate(pool)) == latest_version());
    CHECK(rt.run(migrate(pool)) == latest_version());
    CHECK(count(pool, rt, "SELECT count(*) FROM schema_migrations") == migration_count());
    CHECK(count(pool, rt,
                "SELECT count(*) FROM schema_migrations WHERE version = 1 AND applied_at <= now()") == 1);

    const Result columns = rt.run(pool.query(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || "
        "coalesce(column_default, '-') FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name IN ('jobs', 'cv_analyses') ORDER BY table_name, "
        "ordinal_position"));
    std::vector<std::string> got;
    for (int r = 0; r < columns.rows(); ++r) got.emplace_back(columns.text(r, 0));
    const std::vector<std::string> expected{
        "cv_analyses.id bigint NO nextval('cv_analyses_id_seq'::regclass)",
        "cv_analyses.job_id text NO -",
        "cv_analyses.cv_id text NO -",
        "cv_analyses.original_filename text YES -",
        "cv_analyses.candidate_name text YES -",
        "cv_analyses.match_score double precision YES -",
        "cv_analyses.recommendation text YES -",
        "cv_analyses.email text YES -",
        "cv_analyses.phone text YES -",
        "cv_analyses.analysis jsonb NO -",
        "cv_analyses.analyzed_at timestamp without time zone NO now()",
        // Migration 3, cvgate's own: the lossless JSON text of an analysis holding U+0000.
        "cv_analyses.analysis_text text YES -",
        "jobs.id text NO -",
        "jobs.correlation_id text YES -",
        "jobs.jd_text text NO -",
        "jobs.status text NO -",
        "jobs.total_cvs integer NO 0",
        "jobs.successful_cvs integer NO 0",
        "jobs.failed_cvs integer NO 0",
        "jobs.created_at timestamp without time zone YES -",
        "jobs.completed_at timestamp without time zone YES -",
    };
    CHECK(got == expected);

    const Result indexes = rt.run(
        pool.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'cv_analyses' ORDER BY indexname"));
    std::string all;
    for (int r = 0; r < indexes.rows(); ++r) all += std::string{indexes.text(r, 0)} + "\n";
    CHECK_THAT(all,
               Catch::Contains("UNIQUE INDEX cv_analyses_job_id_cv_id_key ON public.cv_analyses USING btree "
                               "(job_id, cv_id)"));
    CHECK_THAT(all, Catch::Contains("(job_id)\n") && Catch::Contains("(match_score)\n") &&
                        Catch::Contains("(recommendation)\n"));

    // ON DELETE CASCADE: erasing a job erases its analyses.
    rt.run(insert_job(pool, "j1"));
    rt.run(pool.query("INSERT INTO cv_analyses (job_id, cv_id, analysis) VALUES ('j1', 'c', '{}')"));
    rt.run(pool.query("DELETE FROM jobs WHERE id = 'j1'"));
    CHECK(count(pool, rt, "SELECT count(*) FROM cv_analyses") == 0);

    // The advisory lock was released: another session can take it at once.
    CHECK(
        rt.run(pool.query("SELECT pg_try_advisory_lock($1::bigint)", {migration_lock_key})).get<bool>(0, 0));
    rt.run(pool.query("SELECT pg_advisory_unlock($1::bigint)", {migration_lock_key}));
}

TEST_CASE("migrations are applied once even when 4 pools migrate concurrently") {
    Runtime rt;
    const std::string url = fresh_database("cvgate_pg_migrate_race");
    std::vector<std::unique_ptr<Pool>> pools;
    for (int i = 0; i < 4; ++i) pools.push_back(std::make_unique<Pool>(rt.blocking, pool_options(url, 1)));

    std::vector<std::future<int>> versions;
    for (auto& pool : pools) versions.push_back(rt.spawn(migrate(*pool)));
    for (auto& v : versions) CHECK(v.get() == latest_version());

    Pool& pool = *pools.front();
    CHECK(count(pool, rt, "SELECT count(*) FROM schema_migrations") == migration_count());
    CHECK(count(pool, rt,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN "
                "('jobs', 'cv_analyses', 'schema_migrations')") == 3);
}

TEST_CASE("a migration with side effects runs exactly once when 4 threads migrate at the same instant") {
    const std::string url = fresh_database("cvgate_pg_migrate_threads");
    {
        Connection setup = Connection::open({.url = url}, in(10s));
        setup.query("CREATE TABLE probe (applied_by int)", {}, in(10s));
    }
    std::vector<Migration> migrations{cold_storage_migrations().begin(), cold_storage_migrations().end()};
    const int probe = latest_version() + 1;
    migrations.push_back({probe, "INSERT INTO probe SELECT pg_backend_pid()"});
    migrations.push_back({probe + 1, "ALTER TABLE jobs ADD COLUMN note text"});

    std::latch connected{4};
    std::vector<std::future<int>> versions;
    for (int i = 0; i < 4; ++i) {
        versions.push_back(std::async(std::launch::async, [&] {
            Connection conn = Connection::open({.url = url}, in(10s));
            connected.arrive_and_wait();  // all four sessions race for the lock together
            return migrate(conn, migrations, in(30s));
        }));
    }
    for (auto& v : versions) CHECK(v.get() == probe + 1);

    Connection check = Connection::open({.url = url}, in(10s));
    CHECK(check.query("SELECT count(*) FROM probe", {}, in(5s)).get<std::int64_t>(0, 0) == 1);
    CHECK(check.query("SELECT count(*) FROM schema_migrations", {}, in(5s)).get<std::int64_t>(0, 0) ==
          migration_count() + 2);
    CHECK(check.query("SELECT max(version) FROM schema_migrations", {}, in(5s)).get<int>(0, 0) == probe + 1);
}

TEST_CASE("a failed migration is rolled back entirely and leaves the lock free") {
    const std::string url = fresh_database("cvgate_pg_migrate_fail");
    std::vector<Migration> migrations{cold_storage_migrations().begin(), cold_storage_migrations().end()};
    migrations.push_back(
        {latest_version() + 1, "CREATE TABLE half_done (x int); SELECT no_such_column FROM jobs"});

    Connection conn = Connection::open({.url = url}, in(10s));
    const auto failed = client_error_of([&] { migrate(conn, migrations, in(30s)); });
    REQUIRE(failed);
    CHECK(failed->kind() == ErrorKind::rejected);

    Connection check = Connection::open({.url = url}, in(10s));
    CHECK(check.query("SELECT max(version) FROM schema_migrations", {}, in(5s)).get<int>(0, 0) ==
          latest_version());
    CHECK(check.query("SELECT to_regclass('half_done') IS NULL", {}, in(5s)).get<bool>(0, 0));
    CHECK(
        check.query("SELECT pg_try_advisory_lock($1::bigint)", {migration_lock_key}, in(5s)).get<bool>(0, 0));
}

TEST_CASE(
    "a long statement past its deadline fails with timeout, is canceled on the server, and the pool stays "
    "usable") {
    Runtime rt;
    const std::string app = "cvgate-test-sleep";
    Pool pool{rt.blocking, pool_options(schema_url(), 1, app)};
    rt.run(pool.ping());

    const auto start = Clock::now();
    const auto slow =
        client_error_of([&] { rt.run(pool.query("SELECT pg_sleep(10)", {}, Deadline::after(500ms))); });
    const auto elapsed = Clock::now() - start;
    REQUIRE(slow);
    CHECK(slow->kind() == ErrorKind::timeout);
    CHECK(elapsed >= 450ms);
    CHECK(elapsed < 1500ms);

    // The same (only) connection serves the next call: the statement was canceled, not waited out.
    const auto next = Clock::now();
    CHECK(rt.run(pool.query("SELECT 42", {}, Deadline::after(2s))).get<int>(0, 0) == 42);
    CHECK(Clock::now() - next < 1500ms);

    Connection observer = Connection::open({.url = schema_url()}, in(5s));
    CHECK(observer
              .query("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
                     {app}, in(5s))
              .get<std::int64_t>(0, 0) == 0);
}

TEST_CASE("a transaction past its deadline reports timeout and commits nothing") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 1)};
    const std::string in_sql = unique_job_id();
    const std::string in_cpp = unique_job_id();

    const auto slow_statement = client_error_of([&] {
        rt.run(pool.with_transaction(
            [&](Transaction& tx) {
                tx.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, 'jd', 'completed')", {in_sql});
                tx.query("SELECT pg_sleep(5)");
            },
            Deadline::after(500ms)));
    });
    REQUIRE(slow_statement);
    CHECK(slow_statement->kind() == ErrorKind::timeout);

    const auto slow_code = client_error_of([&] {
        rt.run(pool.with_transaction(
            [&](Transaction& tx) {
                tx.query("INSERT INTO jobs (id, jd_text, status) VALUES ($1, 'jd', 'completed')", {in_cpp});
                std::this_thread::sleep_for(700ms);  // the deadline passes outside any statement
            },
            Deadline::after(500ms)));
    });
    REQUIRE(slow_code);
    CHECK(slow_code->kind() == ErrorKind::timeout);

    CHECK(count(pool, rt, "SELECT count(*) FROM jobs WHERE id IN ($1, $2)", {in_sql, in_cpp}) == 0);
}

TEST_CASE("more concurrent callers than connections all complete, never more than the pool size at once") {
    Runtime rt;
    const std::string app = "cvgate-test-bound";
    Pool pool{rt.blocking, pool_options(schema_url(), 3, app)};

    std::vector<std::future<Result>> calls;
    for (int i = 0; i < 12; ++i) {
        calls.push_back(rt.spawn(pool.query(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = $1), pg_sleep(0.1)",
            {app}, Deadline::after(10s))));
    }
    std::int64_t most = 0;
    for (auto& c : calls) most = std::max(most, c.get().get<std::int64_t>(0, 0));
    CHECK(most >= 1);
    CHECK(most <= 3);
    const auto stats = pool.stats();
    CHECK(stats.size == 3);
    CHECK(stats.open <= 3);
    CHECK(stats.idle == 3);
    CHECK(stats.waiting == 0);
}

TEST_CASE("waiting for a free connection is bounded by the call's deadline") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 1)};
    auto holder = rt.spawn(pool.query("SELECT pg_sleep(1.5)", {}, Deadline::after(5s)));
    std::this_thread::sleep_for(200ms);

    const auto start = Clock::now();
    const auto starved = client_error_of([&] { rt.run(pool.query("SELECT 1", {}, Deadline::after(300ms))); });
    const auto elapsed = Clock::now() - start;
    REQUIRE(starved);
    CHECK(starved->kind() == ErrorKind::timeout);
    CHECK_THAT(starved->what(), Catch::Contains("no free connection"));
    CHECK(elapsed >= 250ms);
    CHECK(elapsed < 1000ms);

    CHECK_NOTHROW(holder.get());
    CHECK(rt.run(pool.query("SELECT 1")).get<int>(0, 0) == 1);
    CHECK(pool.stats().waiting == 0);
}

TEST_CASE("a connection the server terminated is replaced, not reused") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 1)};
    const int first = rt.run(pool.query("SELECT pg_backend_pid()")).get<int>(0, 0);

    Connection admin = Connection::open({.url = schema_url()}, in(5s));
    CHECK(admin.query("SELECT pg_terminate_backend($1)", {first}, in(5s)).get<bool>(0, 0));
    std::this_thread::sleep_for(200ms);

    const int second = rt.run(pool.query("SELECT pg_backend_pid()")).get<int>(0, 0);
    CHECK(second != first);
    CHECK(pool.stats().open == 1);
}

TEST_CASE("errors never show the connection URL or the password") {
    Runtime rt;
    const std::string password = "pw-Very-Secret-42";
    // Port 1: nothing listens there.
    Pool refused{rt.blocking,
                 pool_options("postgresql://postgres:" + password + "@127.0.0.1:1/kandidate", 1)};
    const auto e = client_error_of([&] { rt.run(refused.ping()); });
    REQUIRE(e);
    CHECK(e->kind() == ErrorKind::unavailable);
    CHECK_THAT(e->what(), !Catch::Contains(password) && !Catch::Contains("postgresql://"));

    const auto bad_url = client_error_of([&] {
        Pool p{rt.blocking,
               pool_options("postgresql://postgres:" + password + "@127.0.0.1:notaport/x?bad=%zz", 1)};
    });
    REQUIRE(bad_url);
    CHECK(bad_url->kind() == ErrorKind::rejected);
    CHECK_THAT(bad_url->what(), !Catch::Contains(password) && !Catch::Contains("postgresql://"));
}

TEST_CASE(
    "a query on a stopped server fails with unavailable within its deadline, and the next query after "
    "restart succeeds without a new pool") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 2)};
    rt.run(pool.ping());

    ScopeGuard restart{start_postgres_quietly};
    test::stack_ctl("stop postgres");

    const auto start = Clock::now();
    const auto down = client_error_of([&] { rt.run(pool.query("SELECT 1", {}, Deadline::after(2s))); });
    REQUIRE(down);
    CHECK(down->kind() == ErrorKind::unavailable);
    CHECK(Clock::now() - start < 2s);
    CHECK(pool.stats().open == 0);

    test::stack_ctl("start postgres");
    restart.dismiss();
    CHECK(rt.run(pool.query("SELECT 1", {}, Deadline::after(5s))).get<int>(0, 0) == 1);
    CHECK_NOTHROW(rt.run(pool.ping()));
}

TEST_CASE("a statement running when the server shuts down fails with unavailable, and the pool recovers") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 2)};
    rt.run(pool.ping());

    ScopeGuard restart{start_postgres_quietly};
    auto running = rt.spawn(pool.query("SELECT pg_sleep(30)", {}, Deadline::after(20s)));
    std::this_thread::sleep_for(300ms);
    const auto start = Clock::now();
    test::stack_ctl("stop postgres");

    const auto lost = client_error_of([&] { running.get(); });
    REQUIRE(lost);
    CHECK(lost->kind() == ErrorKind::unavailable);
    CHECK(Clock::now() - start < 10s);

    test::stack_ctl("start postgres");
    restart.dismiss();
    CHECK(rt.run(pool.query("SELECT 1", {}, Deadline::after(5s))).get<int>(0, 0) == 1);
}

TEST_CASE("a server restart while the pool sits idle is invisible to the next query") {
    Runtime rt;
    Pool pool{rt.blocking, pool_options(schema_url(), 2)};
    auto first = rt.spawn(pool.query("SELECT pg_sleep(0.1)"));
    auto second = rt.spawn(pool.query("SELECT pg_sleep(0.1)"));
    first.get();
    second.get();
    CHECK(pool.stats().open == 2);

    {
        ScopeGuard restart{start_postgres_quietly};
        test::stack_ctl("stop postgres");
        test::stack_ctl("start postgres");
        restart.dismiss();
    }
    // Both pooled sessions died with the old server; neither is handed out again.
    CHECK(rt.run(pool.query("SELECT 1", {}, Deadline::after(5s))).get<int>(0, 0) == 1);
    CHECK(rt.run(pool.with_transaction(
              [](Transaction& tx) { return tx.query("SELECT 2").get<int>(0, 0); })) == 2);
}
