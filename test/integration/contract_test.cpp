// The OpenAPI document against the real thing: cvgate in front of the `stack` fixture's real
// servers, every operation of the document called (unknown ids, a job that exists, malformed
// ids, bad forms, another method), and every answer held to the document: its status is one
// the operation lists, its body matches the schema given for that status, errors carry
// `detail`, and the headers the document promises are there.

#include "integration/stack_support.hpp"

#include <cvgate/api/docs_routes.hpp>
#include <cvgate/app/application.hpp>
#include <cvgate/app/config.hpp>
#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace cvgate;
namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

// ---- A plain blocking HTTP client ------------------------------------------------------

struct Answer {
    unsigned status = 0;
    std::string content_type;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string{} : it->second;
    }
};

struct Call {
    std::string method;  // "GET", "POST"...
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string why;  // what the call probes, for failure messages
};

Answer send(std::uint16_t port, const Call& call) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket{ioc};
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(call.method), call.target, 11};
    req.set(bhttp::field::host, "cvgate");
    for (const auto& [name, value] : call.headers) req.set(name, value);
    req.body() = call.body;
    req.prepare_payload();
    bhttp::write(socket, req);
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    bhttp::read(socket, buffer, parser);
    auto res = parser.release();
    Answer a;
    a.status = res.result_int();
    for (const auto& field : res) {
        std::string name{field.name_string()};
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        a.headers[name] = std::string{field.value()};
    }
    a.content_type = a.headers["content-type"];
    a.body = std::move(res.body());
    return a;
}

// ---- Just enough JSON Schema (OpenAPI 3.0 flavour) ---------------------------------------

class SchemaCheck {
public:
    explicit SchemaCheck(const json::value& doc) : doc_{doc} {}

    // Empty when `v` matches `schema`, else the first mismatch, with its JSON path.
    std::string mismatch(const json::value& schema, const json::value& v, const std::string& at = "$") const {
        const json::object& s = deref(schema).as_object();
        if (const auto* all = s.if_contains("allOf"))
            for (const auto& sub : all->as_array())
                if (auto m = mismatch(sub, v, at); !m.empty()) return m;
        if (const auto* one = s.if_contains("oneOf")) {
            std::string last;
            int matched = 0;
            for (const auto& sub : one->as_array()) {
                auto m = mismatch(sub, v, at);
                matched += m.empty() ? 1 : 0;
                if (!m.empty()) last = m;
            }
            if (matched != 1) return at + ": matches " + std::to_string(matched) + " of oneOf (" + last + ")";
        }
        if (v.is_null() && s.contains("nullable") && s.at("nullable").as_bool()) return {};
        if (const auto* type = s.if_contains("type")) {
            if (!has_type(v, type->as_string()))
                return at + ": not of type " + std::string{type->as_string()};
        }
        if (const auto* e = s.if_contains("enum")) {
            bool found = false;
            for (const auto& item : e->as_array()) found |= item == v;
            if (!found) return at + ": " + json::serialize(v) + " not in enum";
        }
        if (v.is_object()) {
            const auto& o = v.as_object();
            if (const auto* req = s.if_contains("required"))
                for (const auto& key : req->as_array())
                    if (!o.contains(key.as_string()))
                        return at + ": no required `" + std::string{key.as_string()} + "`";
            const json::object* props =
                s.if_contains("properties") ? &s.at("properties").as_object() : nullptr;
            const json::value* extra = s.if_contains("additionalProperties");
            for (const auto& [key, child] : o) {
                const std::string path = at + "." + std::string{key};
                if (props && props->contains(key)) {
                    if (auto m = mismatch(props->at(key), child, path); !m.empty()) return m;
                } else if (extra && extra->is_object()) {
                    if (auto m = mismatch(*extra, child, path); !m.empty()) return m;
                } else if (extra && extra->is_bool() && !extra->as_bool()) {
                    return path + ": not allowed";
                }
            }
        }
        if (v.is_array()) {
            if (const auto* items = s.if_contains("items")) {
                std::size_t i = 0;
                for (const auto& child : v.as_array())
                    if (auto m = mismatch(*items, child, at + "[" + std::to_string(i++) + "]"); !m.empty())
                        return m;
            }
        }
        return {};
    }

    const json::value& deref(const json::value& v) const {
        const json::value* at = &v;
        while (at->is_object() && at->as_object().contains("$ref")) {
            std::string_view ref = at->as_object().at("$ref").as_string();
            REQUIRE(ref.starts_with("#/"));
            const json::value* node = &doc_;
            for (auto rest = ref.substr(2); !rest.empty();) {
                const auto slash = rest.find('/');
                node = &node->as_object().at(rest.substr(0, slash));
                rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
            }
            at = node;
        }
        return *at;
    }

private:
    static bool has_type(const json::value& v, std::string_view type) {
        if (type == "object") return v.is_object();
        if (type == "array") return v.is_array();
        if (type == "string") return v.is_string();
        if (type == "boolean") return v.is_bool();
        if (type == "integer")
            return v.is_int64() || v.is_uint64() ||
                   (v.is_double() &&
                    v.as_double() == static_cast<double>(static_cast<long long>(v.as_double())));
        if (type == "number") return v.is_number();
        return false;
    }

    const json::value& doc_;
};

// ---- What the walk sends ---------------------------------------------------------------

constexpr std::string_view boundary = "cvgateContractBoundary0123456789";

std::string pdf(std::string_view label) {
    return "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + std::string{label} +
           "\ntrailer << /Root 1 0 R >>\n%%EOF\n";
}

std::string form(bool with_jd_text, bool with_file) {
    std::string body;
    auto part = [&](std::string_view disposition, std::string_view content) {
        body += "--";
        body += boundary;
        body += "\r\nContent-Disposition: form-data; ";
        body += disposition;
        body += "\r\n\r\n";
        body += content;
        body += "\r\n";
    };
    if (with_jd_text)
        part("name=\"jd_text\"",
             "Senior backend engineer: C++20, Asio, PostgreSQL, MongoDB and RabbitMQ in production.");
    part("name=\"use_delay\"", "false");
    if (with_file)
        part("name=\"files\"; filename=\"resume.pdf\"\r\nContent-Type: application/pdf", pdf("contract"));
    body += "--";
    body += boundary;
    body += "--\r\n";
    return body;
}

std::string form_type() { return "multipart/form-data; boundary=" + std::string{boundary}; }

std::string fill(std::string path, const std::string& job_id, const std::string& cv_id) {
    auto replace = [&](std::string_view name, const std::string& value) {
        if (auto at = path.find(name); at != std::string::npos) path.replace(at, name.size(), value);
    };
    replace("{job_id}", job_id);
    replace("{cv_id}", cv_id);
    return path;
}

bool is_multipart(const json::value& op) {
    const auto* body = op.as_object().if_contains("requestBody");
    return body && body->at("content").as_object().contains("multipart/form-data");
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// ---- cvgate under test -----------------------------------------------------------------

struct Gateway {
    std::filesystem::path dir;
    std::string database;
    std::unique_ptr<app::Application> app;

    explicit Gateway(std::vector<std::string> api_keys = {}) {
        const auto& env = test::stack_env();
        const std::string id = ids::uuid_v4().substr(0, 8);
        dir = std::filesystem::temp_directory_path() / ("cvgate-contract-" + id);
        std::filesystem::create_directories(dir / "uploads");
        app::Config c;
        c.server.address = "127.0.0.1";
        c.server.port = 0;
        c.upload_volume_path = (dir / "uploads").string();
        c.mongo.url = env.mongo_url;
        database = "contract_" + id;
        c.mongo.database = database;
        c.postgres.connection.url = env.database_url;
        c.rabbitmq_url = env.rabbitmq_url;
        c.jobs_queue = "contract_" + id;
        c.api_keys = std::move(api_keys);
        c.server.io_threads = 2;
        c.blocking_threads = 4;
        c.log_level = app::LogLevel::error;
        c.shutdown_grace = std::chrono::seconds{2};
        app = std::make_unique<app::Application>(std::move(c), 2);
        app->start();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
        while (send(port(), {"GET", "/readyz", {}, {}, ""}).status != 200) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(std::chrono::milliseconds{100});
        }
    }
    // Drops the job documents; the queue's few messages go with the fixture's broker.
    ~Gateway() {
        app->shutdown();
        try {
            exec::BlockingPool blocking{1};
            clients::mongo::Client mongo{{.url = test::stack_env().mongo_url, .database = database},
                                         blocking.executor()};
            boost::asio::io_context io;
            auto dropped =
                boost::asio::co_spawn(io, mongo.run_command({{"dropDatabase", 1}}), boost::asio::use_future);
            io.run();
            dropped.get();
        } catch (const std::exception&) {
        }
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    std::uint16_t port() const { return app->port(); }
};

// Holds one answer to the document; returns what went wrong, empty when nothing did.
std::vector<std::string> judge(const SchemaCheck& schemas, const json::value& op, const Call& call,
                               const Answer& a) {
    std::vector<std::string> wrong;
    const auto& responses = op.at("responses").as_object();
    const std::string status = std::to_string(a.status);
    if (!responses.contains(status)) {
        wrong.push_back("status " + status + " is not documented; body: " + a.body.substr(0, 300));
        return wrong;
    }
    const auto& documented = schemas.deref(responses.at(status)).as_object();
    if (!a.headers.contains("x-correlation-id")) wrong.push_back("no X-Correlation-ID");
    if (!a.headers.contains("traceparent")) wrong.push_back("no traceparent");
    if (const auto* headers = documented.if_contains("headers")) {
        for (const auto& [name, header] : headers->as_object()) {
            std::string lower{name};
            for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const auto& h = schemas.deref(header).as_object();
            if (h.contains("required") && h.at("required").as_bool() && !a.headers.contains(lower))
                wrong.push_back("no " + std::string{name} + " header");
        }
    }
    const auto* content = documented.if_contains("content");
    if (!content) return wrong;
    const json::value* media = nullptr;
    for (const auto& [type, m] : content->as_object())
        if (a.content_type.starts_with(std::string{type})) media = &m;
    if (!media) {
        wrong.push_back("Content-Type `" + a.content_type + "` is not documented");
        return wrong;
    }
    if (!a.content_type.starts_with("application/json")) return wrong;
    json::value body;
    try {
        body = json::parse(a.body);
    } catch (const std::exception&) {
        wrong.push_back("body is not JSON: " + a.body.substr(0, 200));
        return wrong;
    }
    if (a.status >= 400 && !(body.is_object() && body.as_object().contains("detail")) &&
        call.target != "/readyz")
        wrong.push_back("error body without `detail`: " + a.body.substr(0, 200));
    if (const auto* schema = media->as_object().if_contains("schema"))
        if (auto m = schemas.mismatch(*schema, body); !m.empty())
            wrong.push_back("body does not match its schema: " + m);
    return wrong;
}

}  // namespace

TEST_CASE("every operation of the OpenAPI document answers as the document says", "[contract]") {
    Gateway gw;
    const json::value doc = json::parse(api::openapi_document());
    const SchemaCheck schemas{doc};

    // The document served is the document embedded.
    const Answer served = send(gw.port(), {"GET", "/openapi.json", {}, {}, ""});
    CHECK(served.status == 200);
    CHECK((served.body == api::openapi_document()));

    // A real job to aim at, created through the API itself.
    const Answer created =
        send(gw.port(), {"POST", "/jobs/submit", {{"Content-Type", form_type()}}, form(true, true), ""});
    REQUIRE(created.status == 202);
    const std::string job_id{json::parse(created.body).at("job_id").as_string()};
    const std::string cv_id{json::parse(created.body).at("cv_details").at(0).at("cv_id").as_string()};
    const std::string unknown_job = ids::uuid_v4();
    const std::string unknown_cv = unknown_job.substr(0, 8) + "_000";

    std::map<std::string, std::set<std::string>> seen;  // "METHOD path" -> statuses
    std::size_t calls = 0;
    for (const auto& [path_key, item] : doc.at("paths").as_object()) {
        const std::string path{path_key};
        const bool has_params = path.find('{') != std::string::npos;
        std::set<std::string> methods;
        for (const auto& [method_key, op] : item.as_object()) {
            const std::string method = upper(std::string{method_key});
            methods.insert(method);
            const bool multipart = is_multipart(op);
            std::vector<Call> plan;
            auto with_body = [&](Call c) {
                if (multipart && c.headers.empty()) {
                    c.headers.push_back({"Content-Type", form_type()});
                    c.body = form(true, true);
                }
                return c;
            };
            if (has_params) {
                plan.push_back(
                    with_body({method, fill(path, unknown_job, unknown_cv), {}, {}, "ids of nothing"}));
                plan.push_back(with_body({method, fill(path, "not-a-uuid", "x"), {}, {}, "malformed ids"}));
                // The erase comes last, so that every other operation still finds the candidate.
                if (method != "DELETE")
                    plan.push_back(
                        with_body({method, fill(path, job_id, cv_id), {}, {}, "a job that exists"}));
            } else {
                plan.push_back(with_body({method, path, {}, {}, "the plain request"}));
            }
            if (multipart) {
                const std::string target = fill(path, job_id, cv_id);
                plan.push_back({method, target, {{"Content-Type", "application/json"}}, "{}", "not a form"});
                plan.push_back(
                    {method, target, {{"Content-Type", form_type()}}, form(false, true), "no jd_text"});
                plan.push_back(
                    {method, target, {{"Content-Type", form_type()}}, form(true, false), "no file"});
            }
            for (const auto& call : plan) {
                const Answer a = send(gw.port(), call);
                ++calls;
                seen[method + " " + path].insert(std::to_string(a.status));
                INFO(call.method << " " << call.target << " (" << call.why << ") -> " << a.status);
                for (const auto& w : judge(schemas, op, call, a)) FAIL_CHECK(w);
            }
        }

        // Another method: 405, and Allow names exactly the documented ones (HEAD with GET).
        const std::string target = fill(path, unknown_job, unknown_cv);
        const std::string other = methods.contains("PUT") ? "PATCH" : "PUT";
        const Answer a = send(gw.port(), {other, target, {}, {}, "another method"});
        INFO(other << " " << target);
        CHECK(a.status == 405);
        std::set<std::string> allowed;
        const std::string allow = a.header("allow");
        for (std::size_t at = 0; at <= allow.size();) {
            auto comma = allow.find(',', at);
            std::string m = allow.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
            m.erase(0, m.find_first_not_of(' '));
            if (!m.empty()) allowed.insert(m);
            if (comma == std::string::npos) break;
            at = comma + 1;
        }
        std::set<std::string> expected = methods;
        if (methods.contains("GET")) expected.insert("HEAD");
        CHECK(allowed == expected);
    }

    // The candidate erase on the real job, last.
    {
        const auto& op = doc.at("paths").at("/jobs/{job_id}/candidates/{cv_id}").at("delete");
        const Call call{"DELETE",
                        fill("/jobs/{job_id}/candidates/{cv_id}", job_id, cv_id),
                        {},
                        {},
                        "a candidate that exists"};
        const Answer a = send(gw.port(), call);
        INFO(call.target << " -> " << a.status << " " << a.body);
        CHECK(a.status == 200);
        for (const auto& w : judge(schemas, op, call, a)) FAIL_CHECK(w);
    }

    // The success paths were reached, not only the errors.
    CHECK(seen["POST /jobs/submit"].contains("202"));
    CHECK(seen["POST /jobs/{job_id}/add-cvs"].contains("202"));
    CHECK(seen["GET /jobs/{job_id}/status"].contains("200"));
    CHECK(seen["POST /jobs/{job_id}/sync"].contains("409"));
    CHECK(seen["GET /readyz"].contains("200"));
    CHECK(seen["GET /metrics"].contains("200"));
    CHECK(seen["GET /docs"].contains("200"));
    std::string summary;
    for (const auto& [op, statuses] : seen) {
        summary += "\n  " + op + ":";
        for (const auto& s : statuses) summary += " " + s;
    }
    WARN(calls << " calls; statuses seen per operation:" << summary);
}

TEST_CASE("with API_KEYS set, every job operation without a key answers its documented 401", "[contract]") {
    Gateway gw{{"contract-test-key"}};
    const json::value doc = json::parse(api::openapi_document());
    const SchemaCheck schemas{doc};
    const std::string job = ids::uuid_v4();
    for (const auto& [path_key, item] : doc.at("paths").as_object()) {
        const std::string path{path_key};
        for (const auto& [method_key, op] : item.as_object()) {
            const bool guarded = op.at("security").as_array().size() > 0;
            const Call call{
                upper(std::string{method_key}), fill(path, job, job.substr(0, 8) + "_000"), {}, {}, "no key"};
            const Answer a = send(gw.port(), call);
            INFO(call.method << " " << call.target << " -> " << a.status);
            if (guarded) {
                CHECK(a.status == 401);
                for (const auto& w : judge(schemas, op, call, a)) FAIL_CHECK(w);
            } else {
                CHECK(a.status != 401);  // the service and docs routes need no key
            }
        }
    }
    // A key, either way, opens the door.
    CHECK(send(gw.port(), {"GET", "/jobs/" + job + "/status", {{"X-API-Key", "contract-test-key"}}, {}, ""})
              .status == 404);
    CHECK(send(gw.port(),
               {"GET", "/jobs/" + job + "/status", {{"Authorization", "Bearer contract-test-key"}}, {}, ""})
              .status == 404);
}
