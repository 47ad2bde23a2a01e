#include "scenario.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <optional>
#include <string>

namespace cvgate::load {

namespace asio = boost::asio;
namespace json = boost::json;
using boost::beast::http::verb;
using Clock = std::chrono::steady_clock;

namespace {

std::optional<json::object> object_of(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

std::int64_t integer(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_int64() ? v->as_int64() : -1;
}

std::string text(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string{v->as_string()} : std::string{};
}

}  // namespace

asio::awaitable<void> Scenario::session(Clock::time_point start) {
    ++active;
    peak_active = std::max(peak_active, active);
    struct Leave {
        std::size_t& active;
        ~Leave() { --active; }
    } leave{active};

    // One exchange, recorded under `op`; nullopt when no answer came at all.
    auto call = [this](const char* op, verb method, std::string target, std::string body,
                       std::string content_type,
                       Clock::time_point since) -> asio::awaitable<std::optional<Response>> {
        const std::size_t sent = body.size();
        try {
            Response r =
                co_await client.send(method, std::move(target), std::move(body), std::move(content_type));
            recorder.answer(op, r.status, Clock::now() - since, sent);
            co_return r;
        } catch (const boost::system::system_error&) {
            recorder.transport_error(op);
            co_return std::nullopt;
        }
    };

    const std::size_t n = std::uniform_int_distribution<std::size_t>{options.min_cvs, options.max_cvs}(rng);
    Form form;
    form.field("jd_text", job_description()).field("use_delay", "false");
    for (std::size_t i = 0; i < n; ++i) form.file(corpus.pick(rng));
    std::string body = form.finish();
    std::string content_type = Form::content_type();
    const std::string none;  // the empty body and content type of every later request
    // Arguments named first: see the GCC 12 note in exec/offload.hpp.
    std::string target = "/jobs/submit";
    auto submitted = co_await call("submit", verb::post, std::move(target), std::move(body),
                                   std::move(content_type), start);
    if (!submitted || submitted->status != 202) {
        recorder.session(submitted ? "rejected" : "failed");
        co_return;
    }
    const auto accepted = object_of(submitted->body);
    const std::string job_id = accepted ? text(*accepted, "job_id") : std::string{};
    const json::value* details = accepted ? accepted->if_contains("cv_details") : nullptr;
    if (job_id.empty() || !details || !details->is_array() || details->as_array().size() != n) {
        recorder.mismatch("submit: job_id and one cv_details entry per file");
        recorder.session("failed");
        co_return;
    }
    recorder.session("accepted");

    const std::string base = "/jobs/" + job_id;
    const auto give_up = Clock::now() + options.complete_timeout;
    asio::steady_timer pause{co_await asio::this_coro::executor};
    for (;;) {
        pause.expires_after(options.poll_interval);
        co_await pause.async_wait(asio::use_awaitable);
        const auto asked = Clock::now();
        target = base + "/status";
        auto status = co_await call("status", verb::get, target, none, none, asked);
        if (!status || status->status != 200) {
            recorder.session("failed");
            co_return;
        }
        const auto doc = object_of(status->body);
        if (!doc || text(*doc, "_id") != job_id ||
            integer(*doc, "expected_files") != static_cast<std::int64_t>(n)) {
            recorder.mismatch("status: the job's document with _id and expected_files");
            recorder.session("failed");
            co_return;
        }
        if (text(*doc, "status") == "complete") break;
        if (Clock::now() >= give_up) {
            recorder.session("incomplete");
            co_return;
        }
    }
    recorder.session("complete");
    if (!options.sync) co_return;

    target = base + "/sync";
    const auto sync_at = Clock::now();
    auto synced = co_await call("sync", verb::post, target, none, none, sync_at);
    if (!synced || synced->status != 200) {
        recorder.session("failed");
        co_return;
    }
    recorder.session("synced");

    target = base + "/results";
    const auto results_at = Clock::now();
    auto results = co_await call("results", verb::get, target, none, none, results_at);
    if (!results || results->status != 200) {
        recorder.session("failed");
        co_return;
    }
    // Every CV is accounted for, once, and the analyses come best first.
    const auto job = object_of(results->body);
    const json::value* analyses = job ? job->if_contains("analyses") : nullptr;
    bool good =
        job && analyses && analyses->is_array() &&
        integer(*job, "total_cvs") == static_cast<std::int64_t>(n) &&
        integer(*job, "total_successful_cvs") + integer(*job, "failed_cvs") == static_cast<std::int64_t>(n) &&
        static_cast<std::int64_t>(analyses->as_array().size()) == integer(*job, "total_successful_cvs");
    if (good) {
        double previous = 1e9;
        for (const auto& a : analyses->as_array()) {
            const json::value* score = a.is_object() ? a.as_object().if_contains("match_score") : nullptr;
            const double s = score && score->is_number() ? score->to_number<double>() : -1;
            good = good && s <= previous;
            previous = s;
        }
    }
    if (!good) {
        recorder.mismatch("results: total_cvs, successful + failed, analyses best first");
        recorder.session("failed");
        co_return;
    }
    recorder.session("verified");
    recorder.session_time(Clock::now() - start);
}

}  // namespace cvgate::load
