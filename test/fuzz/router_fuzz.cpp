// libFuzzer target for request routing (http/router) with the gateway's real routes.
//
// Input layout: bytes 0 and 1 pick two methods, byte 2 how many times the part of the target
// between the first two '*' is repeated (long paths); the rest is the request target, cut at
// '?' by Request::path() as the session does.
//
// Promises checked: any bytes match without a crash. A match is found, or 405, only when a
// registered template matches the path segment for segment (a parameter is one non-empty
// segment); not_found only when none does. A found match's parameters are non-empty views
// into the path with no '/', named as in its template, and substituting them into the
// template gives the path back. A 405 lists each allowed method once, never the requested
// one, and each listed method is found. HEAD routes as GET; whether a path is known does not
// depend on the method.

#include "../unit/memory_ports.hpp"

#include "cvgate/api/access_policy.hpp"
#include "cvgate/api/docs_routes.hpp"
#include "cvgate/api/job_routes.hpp"
#include "cvgate/api/readiness.hpp"
#include "cvgate/api/service_routes.hpp"
#include "cvgate/http/request.hpp"
#include "cvgate/http/router.hpp"
#include "cvgate/jobs/settler.hpp"

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace http = cvgate::http;
namespace jobs = cvgate::jobs;
using Outcome = http::Router::Outcome;

[[noreturn]] void broken(const char* what, std::string_view method, std::string_view path) {
    std::fprintf(stderr, "router_fuzz: broken promise: %s\n  %.*s %.*s\n", what,
                 static_cast<int>(method.size()), method.data(),
                 static_cast<int>(std::min<std::size_t>(path.size(), 512)), path.data());
    std::abort();
}

// Never called: the router only keeps the handlers.
class NoUploads final : public jobs::UploadStore {
public:
    jobs::Task<std::unique_ptr<jobs::StagedFile>> stage() override { throw std::logic_error{"unused"}; }
    jobs::Task<std::vector<std::string>> place(std::string_view, std::vector<jobs::Placement>) override {
        throw std::logic_error{"unused"};
    }
    jobs::Task<void> remove(std::string_view, std::vector<std::string>) override {
        throw std::logic_error{"unused"};
    }
    jobs::Task<void> remove_job(std::string_view) override { throw std::logic_error{"unused"}; }
    jobs::Task<std::size_t> remove_cv(std::string_view, std::string_view) override {
        throw std::logic_error{"unused"};
    }
    jobs::Task<std::int64_t> next_cv_index(std::string_view) override { throw std::logic_error{"unused"}; }
    jobs::Task<void> check_writable() override { throw std::logic_error{"unused"}; }
};

class NoBody final : public http::BodySource {
public:
    boost::asio::awaitable<std::string_view> read_some() override { co_return std::string_view{}; }
    bool done() const noexcept override { return true; }
};

// The routes Application registers, CORS preflights included.
struct Gateway {
    cvgate::test::MemoryHotStore hot;
    cvgate::test::MemoryColdStore cold;
    cvgate::test::MemoryQueue queue;
    NoUploads uploads;
    jobs::Observer observer;
    jobs::Settler settler{std::chrono::seconds{1}};
    cvgate::api::AccessPolicy policy{{"key"}, {"https://example.com"}};
    http::Router router;
    std::vector<std::string> patterns;

    Gateway() {
        cvgate::api::add_service_routes(router);
        cvgate::api::add_docs_routes(router);
        cvgate::api::add_job_routes(router, jobs::Ports{hot, cold, queue, uploads, observer, settler}, {},
                                    policy);
        cvgate::api::add_readiness_route(router, {});
        router.add(http::Verb::get, "/metrics", [](http::Request&) -> boost::asio::awaitable<http::Response> {
            co_return http::Response{};
        });
        patterns = router.patterns();
    }
};

const Gateway& gateway() {
    static const Gateway g;
    return g;
}

struct Param {
    std::string_view name;
    std::string_view value;
};

// A second reading of the template syntax: '/'-separated segments, `{name}` matches one
// non-empty segment, anything else itself.
bool template_matches(std::string_view pattern, std::string_view path, std::vector<Param>& params) {
    params.clear();
    if (!pattern.starts_with('/') || !path.starts_with('/')) return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    for (;;) {
        const std::size_t ps = pattern.find('/');
        const std::size_t qs = path.find('/');
        const std::string_view want = pattern.substr(0, ps);
        const std::string_view got = path.substr(0, qs);
        if (want.size() >= 2 && want.front() == '{' && want.back() == '}') {
            if (got.empty()) return false;
            params.push_back({want.substr(1, want.size() - 2), got});
        } else if (want != got) {
            return false;
        }
        if ((ps == std::string_view::npos) != (qs == std::string_view::npos)) return false;
        if (ps == std::string_view::npos) return true;
        pattern.remove_prefix(ps + 1);
        path.remove_prefix(qs + 1);
    }
}

std::string substitute(std::string_view pattern, const http::RouteParams& params) {
    std::string out;
    while (!pattern.empty()) {
        const std::size_t open = pattern.find('{');
        if (open == std::string_view::npos) break;
        const std::size_t close = pattern.find('}', open);
        out.append(pattern.substr(0, open));
        out.append(params.get(pattern.substr(open + 1, close - open - 1)));
        pattern.remove_prefix(close + 1);
    }
    out.append(pattern);
    return out;
}

constexpr auto verb_count = static_cast<unsigned>(http::Verb::unlink) + 1;

http::Verb verb_at(std::uint8_t byte) { return static_cast<http::Verb>(byte % verb_count); }

struct Checked {
    Outcome outcome;
    std::string pattern;
};

// Matches `path` with `method` and checks everything that one answer must satisfy.
Checked check_match(http::Verb method, std::string_view path) {
    const Gateway& g = gateway();
    const std::string_view name = boost::beast::http::to_string(method);
    const auto fail = [&](const char* what) { broken(what, name, path); };

    http::RouteParams params;
    params.add("stale", "left over");  // match() must not keep it
    const http::Router::Match m = g.router.match(method, path, params);

    std::vector<Param> expected;
    bool known = false;
    for (const auto& p : g.patterns) known = known || template_matches(p, path, expected);

    if (m.outcome == Outcome::not_found) {
        if (known) fail("not_found for a path a template matches");
        if (!m.pattern.empty() || !m.allow.empty() || m.handler)
            fail("not_found with a pattern, allow or handler");
        if (params.size() != 0) fail("not_found left parameters");
        return {m.outcome, {}};
    }
    if (std::find(g.patterns.begin(), g.patterns.end(), m.pattern) == g.patterns.end())
        fail("match names a pattern never registered");
    if (!template_matches(m.pattern, path, expected)) fail("the matched template does not match the path");

    if (m.outcome == Outcome::found) {
        if (!m.handler || !*m.handler) fail("found without a handler");
        if (!m.allow.empty()) fail("found with an Allow list");
        if (params.size() != expected.size()) fail("parameter count differs from the template's");
        for (const Param& p : expected) {
            const std::string_view v = params.get(p.name);
            if (v.empty()) fail("empty or missing parameter");
            if (v.find('/') != std::string_view::npos) fail("parameter holds a '/'");
            if (v != p.value) fail("parameter is not the template's segment");
            if (v.data() < path.data() || v.data() + v.size() > path.data() + path.size())
                fail("parameter is not a view into the path");
        }
        if (substitute(m.pattern, params) != path) fail("substituting the parameters does not give the path");
        return {m.outcome, std::string{m.pattern}};
    }

    // 405: the allowed methods, each once, each found; the requested one not among them.
    if (m.handler) fail("405 with a handler");
    if (params.size() != 0) fail("405 left parameters");
    if (m.allow.empty()) fail("405 with nothing allowed");
    const std::string_view wanted =
        boost::beast::http::to_string(method == http::Verb::head ? http::Verb::get : method);
    std::vector<std::string_view> seen;
    std::string_view rest = m.allow;
    for (;;) {
        const std::size_t comma = rest.find(", ");
        const std::string_view token = rest.substr(0, comma);
        const http::Verb v = boost::beast::http::string_to_verb(token);
        if (v == http::Verb::unknown) fail("Allow lists an unknown method");
        if (token == wanted || (method == http::Verb::head && token == "HEAD"))
            fail("Allow lists the requested method");
        if (std::find(seen.begin(), seen.end(), token) != seen.end()) fail("Allow lists a method twice");
        seen.push_back(token);
        http::RouteParams scratch;
        if (g.router.match(v, path, scratch).outcome != Outcome::found)
            fail("a method in Allow is not found");
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 2);
    }
    return {m.outcome, std::string{m.pattern}};
}

// Repeats the part between the first two '*' `times` times (the stars go).
std::string expand(std::string_view raw, unsigned times) {
    const std::size_t a = raw.find('*');
    const std::size_t b = a == std::string_view::npos ? a : raw.find('*', a + 1);
    if (times == 0 || b == std::string_view::npos) return std::string{raw};
    std::string out{raw.substr(0, a)};
    const std::string_view middle = raw.substr(a + 1, b - a - 1);
    for (unsigned i = 0; i < times; ++i) out.append(middle);
    out.append(raw.substr(b + 1));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 3) return 0;
    const std::string target = expand({reinterpret_cast<const char*>(bytes) + 3, size - 3}, bytes[2] * 16u);

    // The path as the session hands it to the router.
    http::RequestHead head;
    const http::Verb method = verb_at(bytes[0]);
    if (method == http::Verb::unknown)
        head.method_string("BREW");
    else
        head.method(method);
    head.target(target);
    NoBody body;
    const http::Request request{head, body, {}};
    const std::string_view path = request.path();
    if (path.find('?') != std::string_view::npos) broken("path() kept the query", "", path);

    const Checked first = check_match(request.method(), path);
    const Checked second = check_match(verb_at(bytes[1]), path);
    if ((first.outcome == Outcome::not_found) != (second.outcome == Outcome::not_found))
        broken("whether a path is known depends on the method", "", path);

    const Checked get = check_match(http::Verb::get, path);
    const Checked head_match = check_match(http::Verb::head, path);
    if (get.outcome != head_match.outcome || get.pattern != head_match.pattern)
        broken("HEAD routes differently from GET", "HEAD", path);
    return 0;
}
