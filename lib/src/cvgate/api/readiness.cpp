#include <cvgate/api/readiness.hpp>

#include <cvgate/exec/with_deadline.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/text/json_number.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>

namespace cvgate::api {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Outcome {
    bool done = false;
    bool timed_out = false;
    bool ok = false;
    std::string error;
    std::string_view category;  // jobs::DependencyError::Cause, as the body says it
    double latency_ms = 0;
};

// What the checks report into. Each check gives up at the deadline by itself
// (exec::with_deadline); the latch only counts them in.
struct Round {
    explicit Round(asio::any_io_executor ex, std::size_t n) : outcomes(n), pending{n}, latch{ex} {}
    std::vector<Outcome> outcomes;
    std::size_t pending;
    asio::steady_timer latch;  // cancelled when the last check reports
};

asio::awaitable<void> run_check(std::shared_ptr<Round> round, std::size_t i,
                                std::function<asio::awaitable<void>()> check, exec::Deadline deadline) {
    const auto start = Clock::now();
    Outcome out;
    try {
        co_await exec::with_deadline(check(), deadline);
        out.ok = true;
    } catch (const exec::DeadlineExceeded&) {
        out.timed_out = true;
        out.error = "no answer within the deadline";
        out.category = jobs::to_string(jobs::DependencyError::Cause::timeout);
    } catch (const jobs::DependencyError& e) {
        // The deadline reached the dependency's call.
        out.timed_out = e.kind() == jobs::DependencyError::Kind::timeout;
        out.error = e.what();
        out.category = jobs::to_string(e.cause());
    } catch (const std::exception& e) {
        out.error = e.what();
        out.category = jobs::to_string(jobs::DependencyError::Cause::error);
    }
    out.done = true;
    out.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    round->outcomes[i] = std::move(out);
    if (--round->pending == 0) round->latch.cancel();
}

}  // namespace

void add_readiness_route(http::Router& router, ReadinessOptions options) {
    auto opts = std::make_shared<ReadinessOptions>(std::move(options));
    router.add(http::Verb::get, "/readyz", [opts](http::Request&) -> asio::awaitable<http::Response> {
        const bool draining = opts->draining && opts->draining->load();
        auto ex = co_await asio::this_coro::executor;
        auto round = std::make_shared<Round>(ex, opts->checks.size());
        if (!draining) {
            const auto deadline = exec::Deadline::after(opts->timeout);
            // A backstop only, for a check that would not honour cancellation.
            round->latch.expires_after(2 * opts->timeout);
            for (std::size_t i = 0; i < opts->checks.size(); ++i)
                asio::co_spawn(ex, run_check(round, i, opts->checks[i].run, deadline), asio::detached);
            if (round->pending > 0) {
                boost::system::error_code ec;
                co_await round->latch.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
        bool ready = !draining;
        boost::json::object checks;
        for (std::size_t i = 0; i < opts->checks.size(); ++i) {
            const Outcome& o = round->outcomes[i];
            boost::json::object entry;
            if (draining) {
                entry["status"] = "skipped";
            } else if (!o.done || o.timed_out) {
                const double waited = std::chrono::duration<double, std::milli>(opts->timeout).count();
                entry["status"] = "timeout";
                entry["latency_ms"] = text::readable(waited);
                entry["error"] = "timeout";
                if (opts->on_failure)
                    opts->on_failure(opts->checks[i].name, "timeout",
                                     "no answer within " + std::to_string(opts->timeout.count()) + " ms");
            } else {
                entry["status"] = o.ok ? "ok" : "error";
                entry["latency_ms"] = text::readable(o.latency_ms);
                if (!o.ok) {
                    entry["error"] = o.category;
                    if (opts->on_failure) opts->on_failure(opts->checks[i].name, o.category, o.error);
                }
            }
            ready = ready && o.done && o.ok;
            checks[opts->checks[i].name] = std::move(entry);
        }
        boost::json::object body{{"status", draining ? "shutting_down" : (ready ? "ready" : "not_ready")},
                                 {"checks", std::move(checks)}};
        co_return http::json_response(ready ? http::Status::ok : http::Status::service_unavailable, body);
    });
}

}  // namespace cvgate::api
