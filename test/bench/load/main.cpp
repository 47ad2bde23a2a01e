// cvgate_load: an open-loop load generator for a running cvgate. Simulated recruiters arrive
// at a configured rate (Poisson by default) for a configured duration; each submits a job
// with 1-10 CVs of real sizes, polls its status, syncs it when complete and reads the
// results (scenario.hpp). Latency counts from when a request was due, so a slow server
// cannot hide its queueing (no coordinated omission). Prints throughput and percentiles per
// operation; exits 1 when any request failed or any answer did not add up.
//
// Jobs only complete if something processes them: the real pipeline, or --pipeline, which
// runs a stand-in for it inside the harness (pipeline.hpp).

#include "corpus.hpp"
#include "http_client.hpp"
#include "pipeline.hpp"
#include "scenario.hpp"
#include "stats.hpp"

#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

namespace asio = boost::asio;
using namespace cvgate::load;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* usage = R"(usage: cvgate_load [options]

Drives a running cvgate with simulated recruiter sessions: submit a job with CVs, poll its
status until complete, sync it, read its results. Prints requests/s and latency
percentiles per operation. Exit status: 0 all good, 1 some request failed, 2 bad usage.

  --url URL               cvgate's base URL (a path prefix too)  [http://127.0.0.1:8080]
  --api-key KEY           sent as X-API-Key                     [$CVGATE_API_KEY]
  --rate R                sessions started per second           [5]
  --duration D            how long sessions keep arriving       [30s]
  --arrivals KIND         poisson | constant                    [poisson]
  --cvs MIN-MAX           CVs per job, uniform                  [1-10]
  --cv-median-kib K       median CV size (log-normal, σ 0.8)    [120]
  --docx-share F          share of DOCX among the CVs           [0.3]
  --poll-interval D       status polling period                 [1s]
  --complete-timeout D    how long a session waits for its job  [60s]
  --no-sync               stop at "complete" (no sync, no results)
  --connections N         keep-alive connections, at most       [64]
  --timeout D             one request, at most                  [60s]
  --seed N                random seed                           [1]
  --json                  print the report as one JSON object

  --pipeline              run a stand-in pipeline in the harness: consume the job messages,
                          write results to MongoDB after --pipeline-delay. Only where no real
                          pipeline consumes the queue (they would share the messages). Its servers:
  --amqp-url URL          [$RABBITMQ_URL]
  --mongo-url URL         [$MONGO_URL]
  --mongo-db NAME         [$MONGO_DB_NAME or kandidate_db]
  --queue NAME            [$JOBS_QUEUE or jobs_queue]
  --pipeline-delay D      processing time per job, ±50 %        [2s]
  --pipeline-error-share F  CVs the stand-in fails              [0.05]

Durations: 500ms, 30s, 2m. Example, against `deploy/local/run.sh` in another terminal:
  . build/stack/env && cvgate_load --rate 10 --duration 60s --pipeline
)";

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string{v} : fallback;
}

std::chrono::milliseconds duration(std::string_view s, std::string_view flag) {
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    const std::string_view unit{end, static_cast<std::size_t>(s.data() + s.size() - end)};
    double scale = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : -1;
    if (ec != std::errc{} || scale < 0 || value < 0)
        throw Usage{std::string{flag} + ": expected a duration like 500ms, 30s or 2m"};
    return std::chrono::milliseconds{static_cast<std::int64_t>(value * scale)};
}

double number(std::string_view s, std::string_view flag) {
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || value < 0)
        throw Usage{std::string{flag} + ": expected a non-negative number"};
    return value;
}

struct Options {
    std::string url = "http://127.0.0.1:8080";
    std::string api_key = env_or("CVGATE_API_KEY", "");
    double rate = 5;
    std::chrono::milliseconds duration{30000};
    bool poisson = true;
    ScenarioOptions scenario;
    CorpusOptions corpus;
    std::size_t connections = 64;
    std::chrono::milliseconds timeout{60000};
    std::uint64_t seed = 1;
    bool json = false;
    bool pipeline = false;
    PipelineOptions pipeline_options{env_or("RABBITMQ_URL", ""), env_or("MONGO_URL", ""),
                                     env_or("MONGO_DB_NAME", "kandidate_db"),
                                     env_or("JOBS_QUEUE", "jobs_queue")};
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string value_storage;
        std::optional<std::string_view> inline_value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            inline_value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        auto value = [&]() -> std::string_view {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc) throw Usage{std::string{arg} + ": needs a value"};
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h")
            throw Usage{""};
        else if (arg == "--url")
            o.url = value();
        else if (arg == "--api-key")
            o.api_key = value();
        else if (arg == "--rate")
            o.rate = number(value(), arg);
        else if (arg == "--duration")
            o.duration = duration(value(), arg);
        else if (arg == "--arrivals") {
            const auto v = value();
            if (v != "poisson" && v != "constant") throw Usage{"--arrivals: poisson or constant"};
            o.poisson = v == "poisson";
        } else if (arg == "--cvs") {
            const auto v = value();
            const auto dash = v.find('-');
            o.scenario.min_cvs = static_cast<std::size_t>(number(v.substr(0, dash), arg));
            o.scenario.max_cvs = dash == std::string_view::npos
                                     ? o.scenario.min_cvs
                                     : static_cast<std::size_t>(number(v.substr(dash + 1), arg));
            if (o.scenario.min_cvs < 1 || o.scenario.max_cvs < o.scenario.min_cvs)
                throw Usage{"--cvs: expected MIN-MAX with 1 <= MIN <= MAX"};
        } else if (arg == "--cv-median-kib")
            o.corpus.median_kib = number(value(), arg);
        else if (arg == "--docx-share")
            o.corpus.docx_share = std::min(1.0, number(value(), arg));
        else if (arg == "--poll-interval")
            o.scenario.poll_interval = duration(value(), arg);
        else if (arg == "--complete-timeout")
            o.scenario.complete_timeout = duration(value(), arg);
        else if (arg == "--no-sync")
            o.scenario.sync = false;
        else if (arg == "--connections")
            o.connections = std::max<std::size_t>(1, static_cast<std::size_t>(number(value(), arg)));
        else if (arg == "--timeout")
            o.timeout = duration(value(), arg);
        else if (arg == "--seed")
            o.seed = static_cast<std::uint64_t>(number(value(), arg));
        else if (arg == "--json")
            o.json = true;
        else if (arg == "--pipeline")
            o.pipeline = true;
        else if (arg == "--amqp-url")
            o.pipeline_options.amqp_url = value();
        else if (arg == "--mongo-url")
            o.pipeline_options.mongo_url = value();
        else if (arg == "--mongo-db")
            o.pipeline_options.mongo_db = value();
        else if (arg == "--queue")
            o.pipeline_options.queue = value();
        else if (arg == "--pipeline-delay")
            o.pipeline_options.delay = duration(value(), arg);
        else if (arg == "--pipeline-error-share")
            o.pipeline_options.error_share = std::min(1.0, number(value(), arg));
        else
            throw Usage{"unknown option " + std::string{arg}};
    }
    if (o.rate <= 0) throw Usage{"--rate: must be above 0"};
    if (o.pipeline && (o.pipeline_options.amqp_url.empty() || o.pipeline_options.mongo_url.empty()))
        throw Usage{"--pipeline needs --amqp-url and --mongo-url (or RABBITMQ_URL and MONGO_URL)"};
    return o;
}

// Sessions arrive until the duration is over; then the harness waits for the running ones.
asio::awaitable<void> arrivals(const Options& o, Scenario& scenario, std::mt19937_64& rng,
                               std::uint64_t& started) {
    auto ex = co_await asio::this_coro::executor;
    const auto begin = Clock::now();
    const auto end = begin + o.duration;
    std::exponential_distribution<double> gap{o.rate};
    auto due = begin;
    asio::steady_timer timer{ex};
    for (;;) {
        const double seconds = o.poisson ? gap(rng) : 1.0 / o.rate;
        due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>{seconds});
        if (due >= end) break;
        timer.expires_at(due);
        co_await timer.async_wait(asio::use_awaitable);
        ++started;
        asio::co_spawn(ex, scenario.session(due), asio::detached);
    }
    while (scenario.active > 0) {
        timer.expires_after(std::chrono::milliseconds{50});
        co_await timer.async_wait(asio::use_awaitable);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    try {
        o = parse(argc, argv);
    } catch (const Usage& e) {
        if (*e.what()) std::cerr << "cvgate_load: " << e.what() << "\n\n";
        std::cerr << usage;
        return *e.what() ? 2 : 0;
    }

    // The driver's warnings (e.g. FerretDB not knowing endSessions at shutdown) are noise here.
    cvgate::clients::mongo::set_driver_log_sink(
        [](cvgate::clients::mongo::DriverLogLevel level, std::string_view domain, std::string_view message) {
            if (level == cvgate::clients::mongo::DriverLogLevel::error)
                std::cerr << "mongoc " << domain << ": " << message << "\n";
        });

    asio::io_context io{1};
    ClientOptions client_options;
    try {
        auto url = boost::urls::parse_uri(o.url);
        if (!url || url->scheme() != "http" || url->host().empty())
            throw std::invalid_argument{"--url: expected http://host[:port]"};
        const std::string port = url->has_port() ? std::string{url->port()} : "80";
        asio::ip::tcp::resolver resolver{io};
        client_options.endpoint = *resolver.resolve(std::string{url->host()}, port).begin();
        client_options.host = std::string{url->host()} + ":" + port;
        client_options.base_path = std::string{url->path()};
        while (!client_options.base_path.empty() && client_options.base_path.back() == '/')
            client_options.base_path.pop_back();
    } catch (const std::exception& e) {
        std::cerr << "cvgate_load: " << o.url << ": " << e.what() << "\n";
        return 2;
    }
    client_options.max_connections = o.connections;
    client_options.timeout = o.timeout;
    client_options.api_key = o.api_key;

    std::mt19937_64 rng{o.seed};
    const Corpus corpus{o.corpus, rng};
    HttpClient client{io.get_executor(), client_options};
    Recorder recorder;
    Scenario scenario{o.scenario, client, corpus, recorder, rng};

    cvgate::exec::BlockingPool pool{4};
    std::optional<PipelineStandIn> pipeline;
    bool pipeline_failed = false;
    if (o.pipeline) {
        pipeline.emplace(io.get_executor(), pool, o.pipeline_options, o.seed + 1);
        asio::co_spawn(io, pipeline->run(), [&](std::exception_ptr e) {
            if (!e) return;
            pipeline_failed = true;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::cerr << "cvgate_load: the stand-in pipeline stopped: " << x.what() << "\n";
            }
        });
    }

    if (!o.json)
        std::cout << "cvgate_load: " << o.url << ", " << o.rate << " sessions/s ("
                  << (o.poisson ? "poisson" : "constant") << ") for " << o.duration.count() / 1000.0 << " s, "
                  << o.scenario.min_cvs << "-" << o.scenario.max_cvs << " CVs per job (median "
                  << corpus.median_bytes() / 1024 << " KiB, " << corpus.size() << " distinct files), "
                  << o.connections << " connections" << (o.pipeline ? ", stand-in pipeline" : "")
                  << std::endl;

    std::uint64_t started = 0;
    const auto begin = Clock::now();
    double seconds = 0;
    asio::co_spawn(io, arrivals(o, scenario, rng, started), [&](std::exception_ptr) {
        seconds = std::chrono::duration<double>(Clock::now() - begin).count();
        if (pipeline) pipeline->stop();
    });
    io.run();
    pool.join();

    if (o.json) {
        auto report = recorder.json(seconds);
        report["url"] = o.url;
        report["target_rate"] = o.rate;
        report["sessions_started"] = started;
        report["peak_sessions"] = scenario.peak_active;
        report["connections_opened"] = client.connections_opened();
        report["retries"] = client.retries();
        if (pipeline) {
            const auto& c = pipeline->counters();
            report["pipeline"] = boost::json::object{{"messages", c.messages},
                                                     {"results", c.results},
                                                     {"errors", c.errors},
                                                     {"stale", c.stale},
                                                     {"failures", c.failures}};
        }
        std::cout << boost::json::serialize(report) << "\n";
    } else {
        std::cout << recorder.table(seconds);
        std::printf(
            "%.1f s in all; %llu sessions started (%.2f/s over the arrival window), at most %zu at once; "
            "%llu connections opened, %llu retried\n",
            seconds, static_cast<unsigned long long>(started),
            static_cast<double>(started) / std::chrono::duration<double>(o.duration).count(),
            scenario.peak_active, static_cast<unsigned long long>(client.connections_opened()),
            static_cast<unsigned long long>(client.retries()));
        if (pipeline) {
            const auto& c = pipeline->counters();
            std::printf(
                "stand-in pipeline: %llu job messages, %llu analyses, %llu errors, %llu stale, %llu "
                "failures\n",
                static_cast<unsigned long long>(c.messages), static_cast<unsigned long long>(c.results),
                static_cast<unsigned long long>(c.errors), static_cast<unsigned long long>(c.stale),
                static_cast<unsigned long long>(c.failures));
        }
    }
    const bool failed = recorder.failures() > 0 || pipeline_failed || recorder.sessions("incomplete") > 0;
    return failed ? 1 : 0;
}
