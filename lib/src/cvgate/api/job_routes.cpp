#include <cvgate/api/job_routes.hpp>

#include <cvgate/api/error_mapping.hpp>
#include <cvgate/jobs/error.hpp>
#include <cvgate/jobs/flows.hpp>
#include <cvgate/jobs/ids.hpp>

#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <optional>

namespace cvgate::api {
namespace {

using boost::asio::awaitable;
using boost::json::object;

// Streams the form into the domain's intake.
class IntakeSink final : public http::FormSink {
public:
    explicit IntakeSink(jobs::Intake& intake) : intake_{intake} {}
    awaitable<void> field(std::string_view name, std::string value) override {
        co_await intake_.field(name, std::move(value));
    }
    awaitable<void> file_begin(const http::multipart::PartHeaders& headers) override {
        co_await intake_.file_begin(*headers.filename);
    }
    awaitable<void> file_data(std::string_view chunk) override { co_await intake_.file_data(chunk); }
    awaitable<void> file_end() override { co_await intake_.file_end(); }
    awaitable<void> flush() override { co_await intake_.flush(); }

private:
    jobs::Intake& intake_;
};

// The job id path parameter, lower-cased; 400 unless it is a UUID.
std::string job_id_of(const http::Request& req) {
    std::string id{req.param("job_id")};
    if (!jobs::is_job_id(id))
        throw jobs::Error{jobs::ErrorKind::bad_request, "Invalid job_id: expected a UUID"};
    std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
    return id;
}

struct Context {
    jobs::Ports ports;
    JobRoutesConfig config;
    const AccessPolicy& policy;
};

using Body = awaitable<http::Response> (*)(Context&, http::Request&);

// Authorisation first, then the handler; domain and dependency failures mapped in one place.
http::Handler guarded(std::shared_ptr<Context> ctx, Body body) {
    return [ctx, body](http::Request& req) -> awaitable<http::Response> {
        if (auto denied = ctx->policy.authorize(req)) co_return std::move(*denied);
        std::exception_ptr error;
        try {
            co_return co_await body(*ctx, req);
        } catch (...) {
            error = std::current_exception();
        }
        if (auto res = error_to_response(error)) co_return std::move(*res);
        std::rethrow_exception(error);
    };
}

void add_warnings(object& body, const jobs::Accepted& accepted) {
    if (!accepted.skipped.empty()) body["warnings"] = jobs::skipped_warnings(accepted.skipped);
}

// The request's Idempotency-Key, when it has one (and the store is configured); 400 if malformed.
std::optional<std::string> idempotency_key_of(const Context& ctx, const http::Request& req) {
    const std::string_view key = req.header("Idempotency-Key");
    if (key.empty() || !ctx.config.idempotency) return std::nullopt;
    if (!jobs::is_idempotency_key(key))
        throw jobs::Error{jobs::ErrorKind::bad_request,
                          "Invalid Idempotency-Key: 1 to 128 characters of A-Z a-z 0-9 . _ : -"};
    return std::string{key};
}

// What the flows' log lines and job messages say of the request.
jobs::RequestContext request_context(const http::Request& req) {
    return jobs::RequestContext{std::string{req.correlation_id()}, req.trace()};
}

// The 202 bodies.
object submitted(const jobs::Accepted& accepted) {
    object body{{"job_id", accepted.job_id},
                {"correlation_id", accepted.correlation_id},
                {"status", "queued"},
                {"file_count", static_cast<std::int64_t>(accepted.cvs.size())},
                {"cv_details", jobs::cv_details(accepted.cvs)}};
    add_warnings(body, accepted);
    return body;
}

object cvs_added(const jobs::Accepted& accepted) {
    object body{
        {"job_id", accepted.job_id},   {"correlation_id", accepted.correlation_id},
        {"status", "queued"},          {"files_added", static_cast<std::int64_t>(accepted.cvs.size())},
        {"resumed", accepted.resumed}, {"cv_details", jobs::cv_details(accepted.cvs)}};
    add_warnings(body, accepted);
    return body;
}

// `work` once per Idempotency-Key (every replica shares the keys), or just `work`.
awaitable<object> at_most_once(Context& ctx, const std::optional<std::string>& key, std::string fingerprint,
                               const http::Request& req, std::function<awaitable<object>()> work) {
    if (!key) co_return co_await work();
    // Arguments named first: see the GCC 12 note in exec/offload.hpp.
    std::string key_text = *key;
    jobs::RequestContext request = request_context(req);
    co_return co_await jobs::once(*ctx.config.idempotency, ctx.ports.observer, ctx.ports.settler,
                                  std::move(key_text), std::move(fingerprint), std::move(request),
                                  std::move(work));
}

awaitable<http::Response> submit(Context& ctx, http::Request& req) {
    const auto key = idempotency_key_of(ctx, req);
    jobs::Intake intake{ctx.ports.uploads, ctx.config.limits};
    if (key) intake.fingerprint_body();
    IntakeSink sink{intake};
    co_await http::read_form(req, sink, ctx.config.form);
    auto work = [&ctx, &req, &intake]() -> awaitable<object> {
        jobs::RequestContext request = request_context(req);  // named: see GCC 12 note in exec/offload.hpp
        try {
            const auto accepted =
                co_await jobs::submit(ctx.ports, ctx.config.limits, intake, std::move(request));
            co_return submitted(accepted);
        } catch (jobs::AcceptanceInDoubt& e) {
            e.answer = submitted(e.accepted());  // what a retry gets if the broker confirms it late
            throw;
        }
    };
    std::string fingerprint = "submit " + intake.fingerprint();
    std::function<awaitable<object>()> once_work = std::move(work);
    const object body = co_await at_most_once(ctx, key, std::move(fingerprint), req, std::move(once_work));
    co_return http::json_response(http::Status::accepted, body);
}

awaitable<http::Response> add_cvs(Context& ctx, http::Request& req) {
    std::string job_id = job_id_of(req);
    const auto key = idempotency_key_of(ctx, req);
    jobs::Intake intake{ctx.ports.uploads, ctx.config.limits};
    if (key) intake.fingerprint_body();
    IntakeSink sink{intake};
    co_await http::read_form(req, sink, ctx.config.form);
    auto work = [&ctx, &req, &intake, job_id]() -> awaitable<object> {
        jobs::RequestContext request = request_context(req);  // named: see GCC 12 note in exec/offload.hpp
        try {
            const auto accepted =
                co_await jobs::add_cvs(ctx.ports, ctx.config.limits, job_id, intake, std::move(request));
            co_return cvs_added(accepted);
        } catch (jobs::AcceptanceInDoubt& e) {
            e.answer = cvs_added(e.accepted());
            throw;
        }
    };
    std::string fingerprint = "add-cvs " + job_id + " " + intake.fingerprint();
    std::function<awaitable<object>()> once_work = std::move(work);
    const object body = co_await at_most_once(ctx, key, std::move(fingerprint), req, std::move(once_work));
    co_return http::json_response(http::Status::accepted, body);
}

awaitable<http::Response> status(Context& ctx, http::Request& req) {
    co_return http::json_response(http::Status::ok, co_await jobs::job_status(ctx.ports, job_id_of(req)));
}

awaitable<http::Response> sync(Context& ctx, http::Request& req) {
    jobs::RequestContext request = request_context(req);  // named: see GCC 12 note in exec/offload.hpp
    auto synced = co_await jobs::sync_job(ctx.ports, job_id_of(req), std::move(request));
    object body{{"message", synced.already_synced ? "Job already synced" : "Job synced successfully"},
                {"synced_cvs", static_cast<std::int64_t>(synced.synced_cvs)},
                {"job", std::move(synced.job)}};
    if (synced.cleanup_failed)
        body["warning"] = "Hot storage clean-up failed; the document will be removed by the next sync";
    if (!synced.rejected.empty()) {
        boost::json::array rejected;
        for (const auto& r : synced.rejected)
            rejected.push_back(object{{"cv_id", r.cv_id}, {"reason", r.reason}});
        body["rejected_cvs"] = std::move(rejected);
        body["note"] = "Cold storage refused the CVs in rejected_cvs; the hot document keeps them";
    } else if (synced.hot_kept) {
        body["note"] = "New results arrived during the sync; the hot document was kept for the next sync";
    }
    co_return http::json_response(http::Status::ok, body);
}

awaitable<http::Response> results(Context& ctx, http::Request& req) {
    co_return http::json_response(http::Status::ok, co_await jobs::job_results(ctx.ports, job_id_of(req)));
}

awaitable<http::Response> erase(Context& ctx, http::Request& req) {
    std::string job_id = job_id_of(req);
    std::string cv_id{req.param("cv_id")};
    if (!jobs::is_cv_id_of(cv_id, job_id))
        throw jobs::Error{jobs::ErrorKind::bad_request, "Invalid cv_id for this job"};
    auto erased = co_await jobs::erase_candidate(ctx.ports, std::move(job_id), std::move(cv_id));
    co_return http::json_response(http::Status::ok,
                                  object{{"message", "Candidate deleted"},
                                         {"candidate_name", erased.candidate_name},
                                         {"note", "Data permanently deleted for privacy compliance"}});
}

}  // namespace

void add_job_routes(http::Router& router, jobs::Ports ports, JobRoutesConfig config,
                    const AccessPolicy& policy) {
    struct Route {
        http::Verb method;
        std::string_view pattern;
        Body body;
    };
    static constexpr Route routes[] = {
        {http::Verb::post, "/jobs/submit", submit},
        {http::Verb::post, "/jobs/{job_id}/add-cvs", add_cvs},
        {http::Verb::get, "/jobs/{job_id}/status", status},
        {http::Verb::post, "/jobs/{job_id}/sync", sync},
        {http::Verb::get, "/jobs/{job_id}/results", results},
        {http::Verb::delete_, "/jobs/{job_id}/candidates/{cv_id}", erase},
    };
    auto ctx = std::make_shared<Context>(Context{ports, std::move(config), policy});
    for (const auto& route : routes) router.add(route.method, route.pattern, guarded(ctx, route.body));

    // A browser asks before it calls a job route from another origin: each path answers the
    // preflight with the methods the router has on it.
    if (!policy.cors_enabled()) return;
    for (const auto& route : routes) {
        const auto methods = router.methods(route.pattern);
        if (std::find(methods.begin(), methods.end(), http::Verb::options) != methods.end()) continue;
        std::string allowed;
        for (const http::Verb method : methods) {
            if (!allowed.empty()) allowed += ", ";
            allowed += boost::beast::http::to_string(method);
        }
        router.add(http::Verb::options, route.pattern,
                   [&policy, allowed = std::move(allowed)](http::Request& req) -> awaitable<http::Response> {
                       co_return policy.preflight(req, allowed);
                   });
    }
}

}  // namespace cvgate::api
