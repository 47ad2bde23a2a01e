#include <cvgate/http/router.hpp>

#include <catch2/catch.hpp>

using cvgate::http::Request;
using cvgate::http::Response;
using cvgate::http::RouteParams;
using cvgate::http::Router;
using cvgate::http::Verb;

namespace {

boost::asio::awaitable<Response> ok(Request&) { co_return Response{}; }

Router jobs_router() {
    Router r;
    r.add(Verb::post, "/jobs/submit", ok);
    r.add(Verb::get, "/jobs/{job_id}/status", ok);
    r.add(Verb::post, "/jobs/{job_id}/sync", ok);
    r.add(Verb::delete_, "/jobs/{job_id}/candidates/{cv_id}", ok);
    r.add(Verb::get, "/", ok);
    return r;
}

}  // namespace

TEST_CASE("a template's parameters are captured from the path", "[router]") {
    Router r = jobs_router();
    RouteParams params;
    auto m = r.match(Verb::delete_, "/jobs/abc/candidates/abc_001", params);
    REQUIRE(m.outcome == Router::Outcome::found);
    CHECK(m.pattern == "/jobs/{job_id}/candidates/{cv_id}");
    CHECK(params.get("job_id") == "abc");
    CHECK(params.get("cv_id") == "abc_001");
    CHECK(params.get("missing").empty());
}

TEST_CASE("literal segments win only on an exact match", "[router]") {
    Router r = jobs_router();
    RouteParams params;
    CHECK(r.match(Verb::post, "/jobs/submit", params).outcome == Router::Outcome::found);
    CHECK(r.match(Verb::get, "/", params).outcome == Router::Outcome::found);
    CHECK(r.match(Verb::get, "/jobs/x/status/", params).outcome == Router::Outcome::not_found);
    CHECK(r.match(Verb::get, "/jobs//status", params).outcome == Router::Outcome::not_found);
    CHECK(r.match(Verb::get, "/jobs/x/statu", params).outcome == Router::Outcome::not_found);
    CHECK(r.match(Verb::get, "", params).outcome == Router::Outcome::not_found);
    CHECK(r.match(Verb::get, "jobs/x/status", params).outcome == Router::Outcome::not_found);
    CHECK(r.match(Verb::get, "/nope", params).outcome == Router::Outcome::not_found);
    CHECK(params.size() == 0);
}

TEST_CASE("a known path with a wrong method is 405 with the allowed methods", "[router]") {
    Router r = jobs_router();
    RouteParams params;
    auto m = r.match(Verb::put, "/jobs/123/status", params);
    CHECK(m.outcome == Router::Outcome::method_not_allowed);
    CHECK(m.allow == "GET, HEAD");
    auto s = r.match(Verb::get, "/jobs/submit", params);
    CHECK(s.outcome == Router::Outcome::method_not_allowed);
    CHECK(s.allow == "POST");
}

TEST_CASE("a GET route answers HEAD", "[router]") {
    Router r = jobs_router();
    RouteParams params;
    CHECK(r.match(Verb::head, "/jobs/1/status", params).outcome == Router::Outcome::found);
}

TEST_CASE("malformed or duplicate patterns are refused at registration", "[router]") {
    Router r = jobs_router();
    CHECK_THROWS_AS(r.add(Verb::get, "/", ok), std::invalid_argument);
    CHECK_THROWS_AS(r.add(Verb::get, "no-slash", ok), std::invalid_argument);
    CHECK_THROWS_AS(r.add(Verb::get, "/a{b}", ok), std::invalid_argument);
    CHECK_THROWS_AS(r.add(Verb::get, "/{a}/{b}/{c}/{d}/{e}", ok), std::invalid_argument);
}

TEST_CASE("a template's methods are listed in registration order, HEAD left to its GET", "[router]") {
    Router r = jobs_router();
    r.add(Verb::put, "/jobs/{job_id}/status", ok);
    CHECK(r.methods("/jobs/{job_id}/status") == std::vector<Verb>{Verb::get, Verb::put});
    CHECK(r.methods("/jobs/submit") == std::vector<Verb>{Verb::post});
    CHECK(r.methods("/jobs/{id}/status").empty());  // a template is matched as written, not as a path
}
