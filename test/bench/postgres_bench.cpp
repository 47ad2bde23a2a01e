// PostgreSQL client throughput: `SELECT 1` round trips per second through the pool, awaited
// from coroutines on one I/O thread with 1, 4 and 16 concurrent callers; the same statement
// on a Connection called directly (no pool, no offload) as the floor; and the cost of the
// offload hop alone (an empty lambda to the blocking pool and back).
//
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kandidate BENCH_SECONDS=3 BLOCKING_THREADS=16
//   ./cvgate_postgres_bench

#include <cvgate/clients/postgres/pool.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/exec/offload.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace pg = cvgate::clients::postgres;
using Clock = std::chrono::steady_clock;

namespace {

std::size_t env_number(const char* name, std::size_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// `callers` coroutines issue SELECT 1 back to back until `until`; returns the count.
asio::awaitable<void> caller(pg::Pool& pool, Clock::time_point until, std::size_t& done) {
    while (Clock::now() < until) {
        pg::Result r = co_await pool.query("SELECT 1");
        if (r.get<int>(0, 0) != 1) std::abort();
        ++done;
    }
}

void pool_round_trips(asio::io_context& io, pg::Pool& pool, std::size_t callers, double seconds) {
    // Warm-up: open the connections these callers will use.
    {
        std::size_t warm = 0;
        const auto until = Clock::now() + std::chrono::milliseconds{300};
        for (std::size_t i = 0; i < callers; ++i)
            asio::co_spawn(io, caller(pool, until, warm), asio::detached);
        io.restart();
        io.run();
    }
    std::size_t done = 0;
    const auto start = Clock::now();
    const auto until =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>{seconds});
    for (std::size_t i = 0; i < callers; ++i) asio::co_spawn(io, caller(pool, until, done), asio::detached);
    io.restart();
    io.run();
    const double elapsed = seconds_since(start);
    std::printf("pool SELECT 1, %2zu concurrent callers: %9.0f round trips/s   mean latency %7.1f us\n",
                callers, static_cast<double>(done) / elapsed,
                elapsed * 1e6 * static_cast<double>(callers) / static_cast<double>(done));
}

void direct_round_trips(const std::string& url, double seconds) {
    pg::Connection conn = pg::Connection::open({.url = url}, pg::Deadline::after(std::chrono::seconds{5}));
    std::size_t done = 0;
    const auto start = Clock::now();
    while (seconds_since(start) < seconds) {
        conn.query("SELECT 1", {}, pg::Deadline::after(std::chrono::seconds{5}));
        ++done;
    }
    const double elapsed = seconds_since(start);
    std::printf(
        "direct Connection::query (no pool, no offload): %9.0f round trips/s   mean latency %7.1f us\n",
        static_cast<double>(done) / elapsed, elapsed * 1e6 / static_cast<double>(done));
}

void offload_overhead(asio::io_context& io, cvgate::exec::BlockingPool& blocking, std::size_t n) {
    auto run = [&](bool with_deadline) {
        auto loop = [&]() -> asio::awaitable<double> {
            const auto start = Clock::now();
            for (std::size_t i = 0; i < n; ++i) {
                auto empty = [] {};
                if (with_deadline) {
                    co_await cvgate::exec::offload(blocking.executor(), empty,
                                                   cvgate::exec::Deadline::after(std::chrono::seconds{5}));
                } else {
                    co_await cvgate::exec::offload(blocking.executor(), empty);
                }
            }
            co_return seconds_since(start);
        };
        auto result = asio::co_spawn(io, loop(), asio::use_future);
        io.restart();
        io.run();
        const double elapsed = result.get();
        std::printf("offload of an empty lambda%s: %6.2f us per round trip (%zu sequential)\n",
                    with_deadline ? " with a deadline" : "                ",
                    elapsed * 1e6 / static_cast<double>(n), n);
    };
    run(false);
    run(true);
}

}  // namespace

int main() try {
    const char* url = std::getenv("DATABASE_URL");
    if (!url || !*url) {
        std::fprintf(stderr, "set DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/kandidate)\n");
        return 2;
    }
    const double seconds = static_cast<double>(env_number("BENCH_SECONDS", 3));
    const std::size_t threads = env_number("BLOCKING_THREADS", 16);

    asio::io_context io{1};
    cvgate::exec::BlockingPool blocking{threads};
    pg::PoolOptions options;
    options.connection.url = url;
    options.size = 16;
    pg::Pool pool{blocking, options};

    std::printf("blocking threads: %zu, pool size: %zu, %.0f s per measurement\n", threads, options.size,
                seconds);
    offload_overhead(io, blocking, 200'000);
    direct_round_trips(url, seconds);
    for (std::size_t callers : {1, 4, 16}) pool_round_trips(io, pool, callers, seconds);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "postgres_bench: %s\n", e.what());
    return 1;
}
