// GET /openapi.json and GET /docs over real sockets: the document describes every route of
// CONTRACT.md and is internally consistent; the page loads only assets cvgate serves itself.

#include "http/server_support.hpp"

#include <cvgate/api/docs_routes.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace cvgate;
using test::Client;
using test::get_request;
using test::TestServer;

namespace {

// Every route of CONTRACT.md, as (method, OpenAPI path).
const std::vector<std::pair<std::string, std::string>> contract_operations = {
    {"post", "/jobs/submit"},
    {"post", "/jobs/{job_id}/add-cvs"},
    {"get", "/jobs/{job_id}/status"},
    {"post", "/jobs/{job_id}/sync"},
    {"get", "/jobs/{job_id}/results"},
    {"delete", "/jobs/{job_id}/candidates/{cv_id}"},
    {"get", "/"},
    {"get", "/healthz"},
    {"get", "/readyz"},
    {"get", "/metrics"},
    {"get", "/openapi.json"},
    {"get", "/docs"},
};

struct DocsServer {
    http::Router router;
    std::unique_ptr<TestServer> server;
    DocsServer() {
        api::add_docs_routes(router);
        server = std::make_unique<TestServer>(router);
    }
    test::Reply get(std::string_view path, std::string_view headers = {}) {
        Client c{server->port()};
        c.send(get_request(path, headers));
        return c.read_reply();
    }
};

// Follows a local reference (`#/components/schemas/X`); fails the test when it leads nowhere.
const boost::json::value& resolve(const boost::json::value& doc, std::string_view ref) {
    REQUIRE(ref.starts_with("#/"));
    const boost::json::value* at = &doc;
    std::string_view rest = ref.substr(2);
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string key{rest.substr(0, slash)};
        INFO("reference " << ref);
        REQUIRE(at->is_object());
        REQUIRE(at->as_object().contains(key));
        at = &at->as_object().at(key);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    }
    return *at;
}

const boost::json::value& deref(const boost::json::value& doc, const boost::json::value& v) {
    if (v.is_object() && v.as_object().contains("$ref"))
        return resolve(doc, v.as_object().at("$ref").as_string());
    return v;
}

void collect_refs(const boost::json::value& v, std::set<std::string>& out) {
    if (v.is_object()) {
        for (const auto& [key, child] : v.as_object()) {
            if (key == "$ref" && child.is_string())
                out.insert(std::string{child.as_string()});
            else
                collect_refs(child, out);
        }
    } else if (v.is_array()) {
        for (const auto& child : v.as_array()) collect_refs(child, out);
    }
}

bool has_header(const boost::json::value& doc, const boost::json::value& response, std::string_view name) {
    const auto& r = deref(doc, response).as_object();
    const auto* headers = r.if_contains("headers");
    return headers && headers->as_object().contains(name);
}

}  // namespace

TEST_CASE("GET /openapi.json is an OpenAPI 3 document of every route of the contract", "[http][docs]") {
    DocsServer docs;
    auto r = docs.get("/openapi.json");
    REQUIRE(r.result_int() == 200);
    CHECK(r[http::Field::content_type] == "application/json");
    CHECK(r.body() == api::openapi_document());

    const boost::json::value doc = boost::json::parse(r.body());
    CHECK(std::string{doc.at("openapi").as_string()}.starts_with("3."));
    CHECK(doc.at("info").at("title") == "cvgate");
    const auto& paths = doc.at("paths").as_object();
    for (const auto& [method, path] : contract_operations) {
        INFO(method << " " << path);
        REQUIRE(paths.contains(path));
        CHECK(paths.at(path).as_object().contains(method));
    }

    SECTION("every operation says what each status means, with X-Correlation-ID on every response") {
        for (const auto& [path, item] : paths) {
            for (const auto& [method, op] : item.as_object()) {
                INFO(method << " " << path);
                const auto& responses = op.at("responses").as_object();
                CHECK_FALSE(responses.contains("default"));  // every status code is listed
                for (const auto& [status, response] : responses) {
                    INFO("status " << status);
                    CHECK(has_header(doc, response, "X-Correlation-ID"));
                    if (status == "503") CHECK(has_header(doc, response, "Retry-After"));
                    if (status == "405") CHECK(has_header(doc, response, "Allow"));
                    // Errors are {"detail": ...}: their schema requires it.
                    if (status.front() == '4' || (status == "503" && path.starts_with("/jobs"))) {
                        const auto& schema = deref(
                            doc, deref(doc, response).at("content").at("application/json").at("schema"));
                        bool requires_detail = false;
                        for (const auto& req : schema.at("required").as_array())
                            requires_detail |= req == "detail";
                        CHECK(requires_detail);
                    }
                }
            }
        }
    }

    SECTION("every reference resolves") {
        std::set<std::string> refs;
        collect_refs(doc, refs);
        CHECK(refs.size() > 10);
        for (const auto& ref : refs) {
            INFO(ref);
            CHECK_NOTHROW(resolve(doc, ref));
        }
    }

    SECTION("the job routes accept a bearer token or an X-API-Key, and no key at all") {
        const auto& schemes = doc.at("components").at("securitySchemes");
        CHECK(schemes.at("bearerAuth").at("scheme") == "bearer");
        CHECK(schemes.at("apiKeyHeader").at("name") == "X-API-Key");
        const auto& submit = paths.at("/jobs/submit").at("post");
        CHECK(submit.at("security").as_array().size() == 3);
        CHECK(submit.at("requestBody").at("content").as_object().contains("multipart/form-data"));
    }
}

TEST_CASE("the OpenAPI document is revalidated with its ETag", "[http][docs]") {
    DocsServer docs;
    auto first = docs.get("/openapi.json");
    const std::string etag{first[http::Field::etag]};
    REQUIRE(etag.size() > 2);
    CHECK(first[http::Field::cache_control] == "no-cache");
    auto again = docs.get("/openapi.json", "If-None-Match: W/\"other\", " + etag + "\r\n");
    CHECK(again.result_int() == 304);
    CHECK(again.body().empty());
    CHECK(again[http::Field::etag] == etag);
    CHECK(docs.get("/openapi.json", "If-None-Match: \"other\"\r\n").result_int() == 200);
}

TEST_CASE("GET /docs is a page whose every asset is served by cvgate itself", "[http][docs]") {
    DocsServer docs;
    auto page = docs.get("/docs");
    REQUIRE(page.result_int() == 200);
    CHECK(page[http::Field::content_type] == "text/html; charset=utf-8");
    CHECK(page["X-Content-Type-Options"] == "nosniff");
    const std::string csp{page["Content-Security-Policy"]};
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("connect-src 'self'") != std::string::npos);
    CHECK(csp.find("http") == std::string::npos);  // no other origin is allowed anything

    const std::string html = page.body();
    CHECK(html.find("<div id=\"swagger-ui\">") != std::string::npos);
    CHECK(html.find("<script>") == std::string::npos);  // no inline script
    const std::regex reference{R"re((src|href)="([^"]*)")re"};
    std::vector<std::string> assets;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), reference); it != std::sregex_iterator();
         ++it) {
        const std::string url = (*it)[2];
        INFO(url);
        CHECK(url.find("//") == std::string::npos);  // neither http(s)://host nor //host
        CHECK((url.find(':') == std::string::npos || url.starts_with("data:")));
        if (!url.starts_with("data:")) assets.push_back("/" + url);  // relative to /docs
    }
    CHECK(assets.size() == 3);

    for (const auto& asset : assets) {
        INFO(asset);
        auto r = docs.get(asset);
        REQUIRE(r.result_int() == 200);
        CHECK(!r.body().empty());
        const std::string type{r[http::Field::content_type]};
        if (asset.find(".js?") != std::string::npos)
            CHECK(type == "text/javascript; charset=utf-8");
        else if (asset.find(".css?") != std::string::npos)
            CHECK(type == "text/css; charset=utf-8");
        else
            FAIL("unexpected asset " << asset);
        CHECK(r[http::Field::cache_control] == "public, max-age=31536000, immutable");
        CHECK(r["X-Content-Type-Options"] == "nosniff");
        CHECK(!r[http::Field::etag].empty());
        // Swagger UI must not call out to its online validator.
        if (asset.starts_with("/docs/init.js")) {
            CHECK(r.body().find("validatorUrl: null") != std::string::npos);
            CHECK(r.body().find("url: \"openapi.json\"") != std::string::npos);
        }
    }
}

TEST_CASE("the Swagger UI bundle is served whole, and HEAD gets its length without it", "[http][docs]") {
    DocsServer docs;
    auto r = docs.get("/docs/swagger-ui-bundle.js");
    REQUIRE(r.result_int() == 200);
    CHECK(r.body().size() > 100'000);
    CHECK(r.body().find("SwaggerUIBundle") != std::string::npos);

    Client c{docs.server->port()};
    c.send("HEAD /docs/swagger-ui-bundle.js HTTP/1.1\r\nHost: t\r\n\r\n");
    auto head = c.read_reply(true);
    CHECK(head.result_int() == 200);
    CHECK(head[http::Field::content_length] == std::to_string(r.body().size()));
    CHECK(head.body().empty());
    auto cached = docs.get("/docs/swagger-ui-bundle.js",
                           "If-None-Match: " + std::string{r[http::Field::etag]} + "\r\n");
    CHECK(cached.result_int() == 304);
}

TEST_CASE("the docs routes answer other methods with 405 and unknown assets with 404", "[http][docs]") {
    DocsServer docs;
    Client c{docs.server->port()};
    c.send("POST /openapi.json HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    auto r = c.read_reply();
    CHECK(r.result_int() == 405);
    CHECK(r[http::Field::allow] == "GET, HEAD");
    CHECK(docs.get("/docs/swagger-ui.js").result_int() == 404);
    CHECK(docs.get("/docs/../openapi.json").result_int() == 404);
}
