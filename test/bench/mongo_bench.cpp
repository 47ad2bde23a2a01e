// Insert + find round trips per second through the MongoDB client's pool, with 1, 4 and 16
// coroutines issuing them concurrently from one I/O thread; then find alone, to tell the
// server's write cost from the client's own. Prints numbers; never fails.
//
//   MONGO_URL=mongodb://127.0.0.1:27017 [BENCH_SECONDS=3] [BLOCKING_THREADS=16] cvgate_mongo_bench
//
// Works in a database of its own (cvgate_bench_<pid>), dropped at the end.

#include <cvgate/clients/client_error.hpp>
#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
namespace mongo = cvgate::clients::mongo;
using Clock = std::chrono::steady_clock;

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

struct Round {
    mongo::Client& client;
    std::string collection;
    bool insert;  // insert + find, or find of an existing document alone
    Clock::time_point until;
    std::vector<double> latencies_ms;  // one per insert + find round trip, all workers
    long errors = 0;
};

json::object job_document(const std::string& id) {
    return {{"_id", id},
            {"correlation_id", "bench"},
            {"jd_text", std::string(600, 'x')},
            {"status", "pending"},
            {"expected_files", 3},
            {"results", json::array{}},
            {"errors", json::array{}},
            {"created_at", "2025-11-17T10:30:00.123456"}};
}

json::object by_id(const std::string& id) { return {{"_id", id}}; }

asio::awaitable<void> worker(Round& round, int worker_id) {
    for (long i = 0; Clock::now() < round.until; ++i) {
        const std::string id = round.insert ? std::to_string(worker_id) + "-" + std::to_string(i) : "0-0";
        const auto start = Clock::now();
        try {
            if (round.insert) co_await round.client.insert_one(round.collection, job_document(id));
            const auto found = co_await round.client.find_one(round.collection, by_id(id));
            if (!found) ++round.errors;
        } catch (const std::exception& e) {
            if (round.errors++ == 0) std::fprintf(stderr, "first error: %s\n", e.what());
            continue;
        }
        round.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[index];
}

}  // namespace

int main() {
    const std::string url = env_or("MONGO_URL", "mongodb://127.0.0.1:27017");
    const double seconds = std::stod(env_or("BENCH_SECONDS", "3"));
    const auto threads = static_cast<std::size_t>(std::stoul(env_or("BLOCKING_THREADS", "16")));

    asio::io_context io;
    cvgate::exec::BlockingPool blocking{threads};
    mongo::Options options;
    options.url = url;
    options.database = "cvgate_bench_" + std::to_string(::getpid());
    mongo::Client client{options, blocking.executor()};

    try {
        auto ping = asio::co_spawn(io, client.ping(), asio::use_future);
        io.run();
        ping.get();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot reach MongoDB: %s\n", e.what());
        return 1;
    }

    std::printf("mongo round trips through the pool, %zu blocking threads, %.1f s per row\n", threads,
                seconds);
    std::printf("%-12s %10s %12s %9s %9s %9s %7s\n", "operation", "coroutines", "round_trip/s", "p50_ms",
                "p99_ms", "max_ms", "errors");
    for (const bool insert : {true, false}) {
        for (const int concurrency : {1, 4, 16}) {
            // Each insert row writes its own collection; the find rows read one document of the first.
            Round round{client, insert ? "jobs_c" + std::to_string(concurrency) : "jobs_c1", insert, {}, {},
                        0};
            const auto start = Clock::now();
            round.until =
                start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
            for (int w = 0; w < concurrency; ++w) asio::co_spawn(io, worker(round, w), asio::detached);
            io.restart();
            io.run();
            const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
            std::sort(round.latencies_ms.begin(), round.latencies_ms.end());
            std::printf("%-12s %10d %12.0f %9.2f %9.2f %9.2f %7ld\n", insert ? "insert+find" : "find",
                        concurrency, static_cast<double>(round.latencies_ms.size()) / elapsed,
                        percentile(round.latencies_ms, 0.5), percentile(round.latencies_ms, 0.99),
                        round.latencies_ms.empty() ? 0.0 : round.latencies_ms.back(), round.errors);
        }
    }

    try {
        json::object drop{{"dropDatabase", 1}};
        auto dropped = asio::co_spawn(io, client.run_command(std::move(drop)), asio::use_future);
        io.restart();
        io.run();
        dropped.get();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "could not drop the bench database: %s\n", e.what());
    }
    return 0;
}
