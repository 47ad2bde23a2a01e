// Who may call the job routes and which browsers may read the answers, end to end: API_KEYS
// (Bearer or X-API-Key) and CORS_ORIGINS (preflights, and the headers on every answer).

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

using namespace cvgate::test;

}  // namespace

TEST_CASE(
    "with API_KEYS set, a request without a valid key is 401 and leaves nothing, while Bearer or X-API-Key "
    "is let in") {
    Gateway gw{[](cvgate::app::Config& c) { c.api_keys = {"k", "second-key"}; }};
    for (const std::string headers : {"", "X-API-Key: nope\r\n", "Authorization: Bearer nope\r\n",
                                      "Authorization: Bearer kk\r\n", "Authorization: Basic k\r\n"}) {
        INFO("headers: " << headers);
        const auto a = gw.post_form("/jobs/submit", form_with_pdfs(1), headers);
        CHECK(a.status == 401);
        CHECK(a.object().at("detail").is_string());
    }
    CHECK(gw.get("/jobs/6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f/status").status == 401);
    gw.require_nothing_left();

    accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), "Authorization: Bearer k\r\n"));
    accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), "X-API-Key: k\r\n"));
    accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), "X-API-Key: second-key\r\n"));
    CHECK(gw.take_messages().size() == 3);
}

TEST_CASE(
    "with CORS_ORIGINS set, preflights are answered and responses to an allowed origin carry CORS headers") {
    Gateway gw{[](cvgate::app::Config& c) {
        c.cors_origins = {"https://app.example"};
        c.api_keys = {"k"};
    }};
    const std::string allowed = "Origin: https://app.example\r\n";

    // A preflight needs no key.
    const auto pre = send_request(gw.port(), "OPTIONS", "/jobs/submit",
                                  allowed +
                                      "Access-Control-Request-Method: POST\r\n"
                                      "Access-Control-Request-Headers: X-API-Key, X-Correlation-ID\r\n");
    CHECK(pre.status == 204);
    CHECK(pre.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK_THAT(pre.header("Access-Control-Allow-Methods"), Catch::Contains("POST"));
    CHECK_THAT(pre.header("Access-Control-Allow-Headers"), Catch::Contains("X-API-Key"));
    // A browser's retry of an upload sends its Idempotency-Key: the preflight must allow it.
    CHECK_THAT(pre.header("Access-Control-Allow-Headers"), Catch::Contains("Idempotency-Key"));
    CHECK_FALSE(pre.header("Access-Control-Max-Age").empty());

    const auto foreign =
        send_request(gw.port(), "OPTIONS", "/jobs/submit",
                     "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n");
    CHECK(foreign.header("Access-Control-Allow-Origin").empty());
    CHECK(foreign.header("Access-Control-Allow-Methods").empty());

    // Answers, errors included, carry the headers a browser needs to read them.
    const std::string target = "/jobs/6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f/status";
    const auto denied = gw.get(target, allowed);
    CHECK(denied.status == 401);
    CHECK(denied.header("Access-Control-Allow-Origin") == "https://app.example");
    const auto answered = gw.get(target, allowed + "X-API-Key: k\r\n");
    CHECK(answered.status == 404);
    CHECK(answered.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK_THAT(answered.header("Vary"), Catch::Contains("Origin"));
    CHECK_THAT(answered.header("Access-Control-Expose-Headers"), Catch::Contains("X-Correlation-ID"));
    CHECK(gw.get(target, "Origin: https://evil.example\r\nX-API-Key: k\r\n")
              .header("Access-Control-Allow-Origin")
              .empty());
}
