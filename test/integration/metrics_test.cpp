// GET /metrics against real traffic: a real cvgate in front of the `stack` fixture's servers,
// scraped before and after each piece of traffic, and every counter, histogram and gauge
// that traffic must move checked for its exact change, and every other series for staying
// put. Each scrape is also parsed as Prometheus text format: a line that does not parse, a
// sample of an untyped or split family, or a histogram whose buckets are not cumulative fails.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace cvgate::test;
using namespace std::chrono_literals;

// ---- A Prometheus text-format parser -------------------------------------------------

using Labels = std::map<std::string, std::string>;

struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
};

// One series as a map key, labels sorted: name{a="x",b="y"} (values unescaped).
std::string series(std::string_view name, const Labels& labels = {}) {
    std::string key{name};
    if (labels.empty()) return key;
    key += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) key += ',';
        first = false;
        key += k + "=\"" + v + "\"";
    }
    return key + "}";
}

bool name_char(char c, bool first, bool colon) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    return alpha || (!first && c >= '0' && c <= '9');
}

std::optional<double> parse_value(std::string_view text) {
    if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text.empty() || text == "inf" || text == "nan" || text.front() == '+') return std::nullopt;
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

// `name{label="value",...} value [timestamp]`; nullopt with `why` set when the line is not that.
std::optional<Sample> parse_sample(std::string_view line, std::string& why) {
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0, true)) ++i;
    if (i == 0) {
        why = "no metric name";
        return std::nullopt;
    }
    Sample s;
    s.name = std::string{line.substr(0, i)};
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (true) {
            if (i < line.size() && line[i] == '}') {  // empty set, or a trailing comma
                ++i;
                break;
            }
            const std::size_t start = i;
            while (i < line.size() && name_char(line[i], i == start, false)) ++i;
            if (i == start) {
                why = "bad label name";
                return std::nullopt;
            }
            std::string key{line.substr(start, i - start)};
            if (key.rfind("__", 0) == 0) {
                why = "reserved label name " + key;
                return std::nullopt;
            }
            if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
                why = "expected =\" after label " + key;
                return std::nullopt;
            }
            i += 2;
            std::string value;
            bool closed = false;
            while (i < line.size()) {
                const char c = line[i++];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c != '\\') {
                    value += c;
                    continue;
                }
                if (i >= line.size()) break;
                const char e = line[i++];
                if (e == 'n')
                    value += '\n';
                else if (e == '\\' || e == '"')
                    value += e;
                else {
                    why = "bad escape in the value of " + key;
                    return std::nullopt;
                }
            }
            if (!closed) {
                why = "unterminated value of label " + key;
                return std::nullopt;
            }
            if (!s.labels.emplace(key, value).second) {
                why = "label " + key + " given twice";
                return std::nullopt;
            }
            if (i < line.size() && line[i] == ',') {
                ++i;
                continue;
            }
            if (i < line.size() && line[i] == '}') {
                ++i;
                break;
            }
            why = "expected , or } after the value of label " + key;
            return std::nullopt;
        }
    }
    if (i >= line.size() || line[i] != ' ') {
        why = "expected one space before the value";
        return std::nullopt;
    }
    const std::string_view rest = line.substr(i + 1);
    const auto space = rest.find(' ');
    const auto value = parse_value(rest.substr(0, space));
    if (!value) {
        why = "bad value";
        return std::nullopt;
    }
    if (space != std::string_view::npos) {  // an optional timestamp: an integer (milliseconds)
        const std::string_view ts = rest.substr(space + 1);
        long long t = 0;
        const auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
        if (ts.empty() || ec != std::errc{} || end != ts.data() + ts.size()) {
            why = "bad timestamp";
            return std::nullopt;
        }
    }
    s.value = *value;
    return s;
}

std::string show(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// A whole scrape, parsed; what is wrong with it, line by line, in `problems`.
struct Exposition {
    std::string text;
    std::vector<Sample> samples;
    std::map<std::string, double> values;      // series(...) -> value
    std::map<std::string, std::string> types;  // family -> counter, gauge, histogram...
    std::vector<std::string> problems;

    // 0 for a series not (yet) there: Prometheus creates labelled series on first use.
    double get(std::string_view name, const Labels& labels = {}) const {
        const auto it = values.find(series(name, labels));
        return it == values.end() ? 0 : it->second;
    }
    bool has(std::string_view name, const Labels& labels = {}) const {
        return values.count(series(name, labels)) > 0;
    }
    // The series' value; fails the test when the series is absent.
    double at(std::string_view name, const Labels& labels = {}) const {
        INFO("series " << series(name, labels) << " in:\n" << text);
        REQUIRE(has(name, labels));
        return get(name, labels);
    }
};

std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string base = name.substr(0, name.size() - suffix.size());
        const auto it = types.find(base);
        if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
    return name;
}

// Buckets cumulative and in order, +Inf last and equal to _count, _sum present, per series.
void check_histograms(Exposition& e) {
    struct Buckets {
        std::vector<std::pair<double, double>> le_value;
    };
    std::map<std::string, Buckets> by_series;  // family{labels without le}
    for (const auto& s : e.samples) {
        const std::string family = family_of(s.name, e.types);
        if (e.types[family] != "histogram") continue;
        if (s.name == family) {
            e.problems.push_back("histogram " + family + " has a bare sample");
            continue;
        }
        if (s.name != family + "_bucket") {
            if (s.labels.count("le")) e.problems.push_back(series(s.name, s.labels) + " has an le label");
            continue;
        }
        Labels rest = s.labels;
        const auto le = rest.find("le");
        if (le == rest.end()) {
            e.problems.push_back(series(s.name, s.labels) + " has no le label");
            continue;
        }
        const auto bound = parse_value(le->second);
        rest.erase(le);
        if (!bound) {
            e.problems.push_back(series(s.name, s.labels) + ": le is not a number");
            continue;
        }
        by_series[series(family, rest)].le_value.emplace_back(*bound, s.value);
    }
    for (const auto& [key, b] : by_series) {
        for (std::size_t i = 1; i < b.le_value.size(); ++i) {
            if (b.le_value[i].first <= b.le_value[i - 1].first)
                e.problems.push_back(key + ": buckets not in increasing le order");
            if (b.le_value[i].second < b.le_value[i - 1].second)
                e.problems.push_back(key + ": bucket le=" + show(b.le_value[i].first) +
                                     " holds less than le=" + show(b.le_value[i - 1].first) +
                                     " (not cumulative)");
        }
        if (b.le_value.empty() || !std::isinf(b.le_value.back().first)) {
            e.problems.push_back(key + ": no le=\"+Inf\" bucket last");
            continue;
        }
        const std::string family = key.substr(0, key.find('{'));
        const std::string labels = key.size() > family.size() ? key.substr(family.size()) : "";
        const auto count = e.values.find(family + "_count" + labels);
        const auto sum = e.values.find(family + "_sum" + labels);
        if (count == e.values.end())
            e.problems.push_back(key + ": no _count");
        else if (count->second != b.le_value.back().second)
            e.problems.push_back(key + ": +Inf bucket " + show(b.le_value.back().second) + " != _count " +
                                 show(count->second));
        if (sum == e.values.end()) e.problems.push_back(key + ": no _sum");
    }
}

Exposition parse_exposition(std::string text) {
    Exposition e;
    e.text = std::move(text);
    const std::string_view all = e.text;
    if (!all.empty() && all.back() != '\n') e.problems.push_back("the last line does not end with \\n");
    std::set<std::string> helped, closed;  // families with HELP; families whose samples are over
    std::string current;                   // the family the last sample belonged to
    std::size_t line_no = 0;
    for (std::size_t at = 0; at < all.size();) {
        const auto nl = all.find('\n', at);
        const std::string_view line = all.substr(at, nl == std::string_view::npos ? all.npos : nl - at);
        at = nl == std::string_view::npos ? all.size() : nl + 1;
        ++line_no;
        const std::string where = "line " + std::to_string(line_no) + " `" + std::string{line} + "`: ";
        if (line.empty()) continue;
        if (line.front() == '#') {
            const bool is_help = line.rfind("# HELP ", 0) == 0, is_type = line.rfind("# TYPE ", 0) == 0;
            if (!is_help && !is_type) continue;  // a comment
            const std::string_view rest = line.substr(7);
            const auto sp = rest.find(' ');
            const std::string name{rest.substr(0, sp)};
            bool valid = !name.empty();
            for (std::size_t i = 0; i < name.size(); ++i) valid = valid && name_char(name[i], i == 0, true);
            if (!valid) {
                e.problems.push_back(where + "bad metric name");
                continue;
            }
            if (closed.count(name) || current == name)
                e.problems.push_back(where + "HELP/TYPE after the family's samples");
            if (is_help && !helped.insert(name).second) e.problems.push_back(where + "a second HELP");
            if (is_type) {
                const std::string type{sp == std::string_view::npos ? "" : rest.substr(sp + 1)};
                static const std::set<std::string> known{"counter", "gauge", "histogram", "summary",
                                                         "untyped"};
                if (!known.count(type)) e.problems.push_back(where + "unknown type");
                if (!e.types.emplace(name, type).second) e.problems.push_back(where + "a second TYPE");
            }
            continue;
        }
        std::string why;
        auto sample = parse_sample(line, why);
        if (!sample) {
            e.problems.push_back(where + why);
            continue;
        }
        const std::string family = family_of(sample->name, e.types);
        if (family != current) {
            if (closed.count(family)) e.problems.push_back(where + "family " + family + " is split");
            if (!current.empty()) closed.insert(current);
            current = family;
        }
        const auto type = e.types.find(family);
        if (type == e.types.end())
            e.problems.push_back(where + "no TYPE for " + family);
        else if (type->second == "counter" && !(sample->value >= 0 && std::isfinite(sample->value)))
            e.problems.push_back(where + "a counter that is negative or not finite");
        const std::string key = series(sample->name, sample->labels);
        if (!e.values.emplace(key, sample->value).second) e.problems.push_back(where + "duplicate series");
        e.samples.push_back(std::move(*sample));
    }
    check_histograms(e);
    return e;
}

// ---- Scraping ------------------------------------------------------------------------

Exposition scrape(const Gateway& gw) {
    const Answer a = gw.get("/metrics");
    INFO(a.raw.body());
    REQUIRE(a.status == 200);
    CHECK(a.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    Exposition e = parse_exposition(a.raw.body());
    std::string problems;
    for (const auto& p : e.problems) problems += p + "\n";
    INFO("format problems:\n" << problems);
    CHECK(e.problems.empty());
    return e;
}

// A scrape that shows every request answered before it. cvgate counts a request right after
// writing its answer, so a client holding its answer can scrape before that; but a request
// stays in cvgate_http_requests_in_flight until after it is counted. Once a scrape sees
// nothing in flight but itself, everything answered before is counted, and the next scrape
// shows it.
Exposition settled(const Gateway& gw) {
    Exposition last;
    const bool quiet = eventually([&] {
        last = scrape(gw);
        return last.at("cvgate_http_requests_in_flight") == 1;
    });
    INFO(last.text);
    REQUIRE(quiet);
    return scrape(gw);
}

// The series of sample `name` whose value changed between two scrapes, each with its change,
// as text (`series=change`, one per line, sorted), for readable failures. Series with a label
// in `except` are left out (route="/metrics": the scrapes themselves).
std::string moved(const Exposition& before, const Exposition& after, std::string_view name,
                  const Labels& except = {}) {
    std::map<std::string, double> changes;
    const auto excluded = [&](const Labels& labels) {
        for (const auto& [k, v] : except) {
            const auto it = labels.find(k);
            if (it != labels.end() && it->second == v) return true;
        }
        return false;
    };
    for (const auto& s : after.samples) {
        if (s.name != name || excluded(s.labels)) continue;
        const double d = s.value - before.get(s.name, s.labels);
        if (d != 0) changes[series(s.name, s.labels)] = d;
    }
    for (const auto& s : before.samples)  // a series that vanished
        if (s.name == name && !excluded(s.labels) && !after.has(s.name, s.labels))
            changes[series(s.name, s.labels)] = -s.value;
    std::string out;
    for (const auto& [k, d] : changes) out += k + "=" + show(d) + "\n";
    return out;
}

// The expected text of moved(): {series, change} pairs.
std::string changes(const std::vector<std::pair<std::string, double>>& expected) {
    std::map<std::string, double> sorted{expected.begin(), expected.end()};
    std::string out;
    for (const auto& [k, d] : sorted) out += k + "=" + show(d) + "\n";
    return out;
}

const Labels not_metrics{{"route", "/metrics"}};
// A staged file's writes: as many as its bytes took batches, which depends on how they arrived.
// Its syncs do not: one per 4 MiB (sync_step in adapters/upload_volume.cpp), and one once the
// file is complete.
const Labels staged_writes{{"operation", "write"}};

std::string request(std::string_view route, std::string_view method, std::string_view status) {
    return series(
        "cvgate_http_requests_total",
        {{"route", std::string{route}}, {"method", std::string{method}}, {"status", std::string{status}}});
}
std::string dependency_calls(std::string_view dependency, std::string_view operation) {
    return series("cvgate_dependency_call_duration_seconds_count",
                  {{"dependency", std::string{dependency}}, {"operation", std::string{operation}}});
}
std::string dependency_errors(std::string_view dependency, std::string_view operation) {
    return series("cvgate_dependency_errors_total",
                  {{"dependency", std::string{dependency}}, {"operation", std::string{operation}}});
}

// Between the two scrapes: one submit answered 503 and rolled back at `stage`, because
// `dependency`'s `operation` failed, and no rollback step failed.
void check_one_rollback(const Exposition& before, const Exposition& after, const std::string& stage,
                        std::string_view dependency, std::string_view operation) {
    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("/jobs/submit", "POST", "503"), 1}}));
    CHECK(
        moved(before, after, "cvgate_submissions_total") ==
        changes({{series("cvgate_submissions_total", {{"flow", "submit"}, {"outcome", "rolled_back"}}), 1}}));
    CHECK(moved(before, after, "cvgate_rollbacks_total") ==
          changes({{series("cvgate_rollbacks_total", {{"flow", "submit"}, {"stage", stage}}), 1}}));
    CHECK(moved(before, after, "cvgate_rollback_failures_total").empty());
    CHECK(moved(before, after, "cvgate_dependency_errors_total") ==
          changes({{dependency_errors(dependency, operation), 1}}));
}

Multipart form_without_delay(int count, std::string_view label) {
    Multipart form;
    form.field("jd_text", job_description()).field("use_delay", "false");
    for (int i = 0; i < count; ++i) {
        const std::string name = std::string{label} + std::to_string(i);
        form.file(name + ".pdf", pdf_bytes(name), "application/pdf");
    }
    return form;
}

const std::vector<double> latency_bounds{
    0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,  0.05,  0.1,    0.25,  0.5,
    1,      2.5,   5,      10,    std::numeric_limits<double>::infinity()};

// The le bounds of one histogram series, in the order served.
std::vector<double> bounds_of(const Exposition& e, std::string_view family, const Labels& labels) {
    std::vector<double> out;
    for (const auto& s : e.samples) {
        if (s.name != std::string{family} + "_bucket") continue;
        Labels rest = s.labels;
        const auto le = rest.find("le");
        if (le == rest.end()) continue;
        const auto v = parse_value(le->second);
        rest.erase(le);
        if (rest == labels && v) out.push_back(*v);
    }
    return out;
}

// Every route label value of the latency histogram: one per route template (and "" for
// paths that match none), fixed when cvgate starts.
std::set<std::string> histogram_routes(const Exposition& e) {
    std::set<std::string> routes;
    for (const auto& s : e.samples)
        if (s.name == "cvgate_http_request_duration_seconds_count") routes.insert(s.labels.at("route"));
    return routes;
}

}  // namespace

// ---- The parser itself can fail -------------------------------------------------------

TEST_CASE("the test's Prometheus parser rejects what is not text format") {
    const auto problems_of = [](std::string text) {
        return parse_exposition(std::move(text)).problems.size();
    };
    CHECK(problems_of("# TYPE a counter\na 1\n") == 0);
    CHECK(problems_of("# TYPE a counter\na{x=\"q\\\"\\\\\\n\",y=\"\"} 1 1700000000000\n") == 0);
    CHECK(problems_of("# TYPE a counter\na 1") == 1);                     // no final newline
    CHECK(problems_of("a 1\n") == 1);                                     // no TYPE
    CHECK(problems_of("# TYPE a counter\na{x=q} 1\n") == 1);              // unquoted value
    CHECK(problems_of("# TYPE a counter\na{x=\"q} 1\n") == 1);            // unterminated value
    CHECK(problems_of("# TYPE a counter\na{x=\"\\t\"} 1\n") == 1);        // bad escape
    CHECK(problems_of("# TYPE a counter\na{x=\"1\",x=\"2\"} 1\n") == 1);  // label twice
    CHECK(problems_of("# TYPE a counter\na  1\n") == 1);                  // two spaces
    CHECK(problems_of("# TYPE a counter\na 1x\n") == 1);                  // bad value
    CHECK(problems_of("# TYPE a counter\na -1\n") == 1);                  // negative counter
    CHECK(problems_of("# TYPE a counter\na 1\na 2\n") == 1);              // duplicate series
    CHECK(problems_of("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n") == 1);  // split family
    CHECK(problems_of(
              "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n") ==
          0);
    CHECK(problems_of(
              "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n") ==
          1);  // not cumulative
    CHECK(problems_of(
              "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n") ==
          1);  // +Inf != count
    CHECK(problems_of("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n") == 1);  // no +Inf
}

// ---- The exposition ------------------------------------------------------------------

TEST_CASE(
    "GET /metrics is well-formed text format with every documented family, typed, and a latency "
    "histogram for every route template") {
    Gateway gw;
    const Exposition e = settled(gw);

    const std::map<std::string, std::string> expected_types{
        {"cvgate_http_requests_total", "counter"},
        {"cvgate_http_request_duration_seconds", "histogram"},
        {"cvgate_upload_bytes_total", "counter"},
        {"cvgate_dependency_call_duration_seconds", "histogram"},
        {"cvgate_dependency_errors_total", "counter"},
        {"cvgate_submissions_total", "counter"},
        {"cvgate_rollbacks_total", "counter"},
        {"cvgate_rollback_failures_total", "counter"},
        {"cvgate_in_doubt_total", "counter"},
        {"cvgate_in_doubt_pending", "gauge"},
        {"cvgate_http_requests_in_flight", "gauge"},
        {"cvgate_http_connections", "gauge"},
        {"cvgate_blocking_pool_threads", "gauge"},
        {"cvgate_pool_connections", "gauge"}};
    CHECK(e.types == expected_types);

    // One latency histogram per route template: the contract's, the docs page's assets, and ""
    // for paths that match none.
    const std::set<std::string> contract_routes{"",
                                                "/",
                                                "/healthz",
                                                "/readyz",
                                                "/metrics",
                                                "/openapi.json",
                                                "/docs",
                                                "/jobs/submit",
                                                "/jobs/{job_id}/add-cvs",
                                                "/jobs/{job_id}/status",
                                                "/jobs/{job_id}/sync",
                                                "/jobs/{job_id}/results",
                                                "/jobs/{job_id}/candidates/{cv_id}"};
    const std::set<std::string> routes = histogram_routes(e);
    for (const auto& route : contract_routes) CHECK(routes.count(route) == 1);
    for (const auto& route : routes) {
        INFO("route " << route);
        CHECK((contract_routes.count(route) == 1 || route.rfind("/docs/", 0) == 0));
    }
    for (const auto& route : routes) {
        INFO("route " << route);
        CHECK(bounds_of(e, "cvgate_http_request_duration_seconds", {{"route", route}}) == latency_bounds);
    }

    // The Gateway's wait for readiness: GET /readyz, 200, counted under its template.
    CHECK(e.at("cvgate_http_requests_total", {{"route", "/readyz"}, {"method", "GET"}, {"status", "200"}}) >=
          1);

    // Gauges read at scrape time: this scrape is in flight (the scrape before it may still be
    // finishing), on a connection of its own.
    CHECK(e.at("cvgate_http_requests_in_flight") >= 1);
    CHECK(e.at("cvgate_http_connections") >= 1);
    for (const char* pool : {"mongodb", "postgresql", "volume"})
        CHECK(e.at("cvgate_blocking_pool_threads", {{"pool", pool}}) == gw.config().blocking_threads);
    CHECK(e.at("cvgate_in_doubt_pending") == 0);
    for (const std::string state : {"size", "open", "idle", "waiting"}) {
        INFO("pool state " << state);
        CHECK(e.at("cvgate_pool_connections", {{"pool", "postgresql"}, {"state", state}}) >= 0);
    }
    CHECK(e.at("cvgate_pool_connections", {{"pool", "postgresql"}, {"state", "size"}}) >=
          e.at("cvgate_pool_connections", {{"pool", "postgresql"}, {"state", "open"}}));
    CHECK(e.at("cvgate_pool_connections", {{"pool", "postgresql"}, {"state", "waiting"}}) == 0);
}

// ---- Requests ------------------------------------------------------------------------

TEST_CASE(
    "N requests to /healthz move its counter and its latency histogram by exactly N, and nothing else") {
    Gateway gw;
    const Exposition before = settled(gw);
    const int n = 5;
    for (int i = 0; i < n; ++i) REQUIRE(gw.get("/healthz").status == 200);
    REQUIRE(send_request(gw.port(), "HEAD", "/healthz").status == 200);
    const Exposition after = settled(gw);

    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("/healthz", "GET", "200"), n}, {request("/healthz", "HEAD", "200"), 1}}));

    const Labels healthz{{"route", "/healthz"}};
    const auto h = "cvgate_http_request_duration_seconds";
    CHECK(moved(before, after, "cvgate_http_request_duration_seconds_count", not_metrics) ==
          changes({{series("cvgate_http_request_duration_seconds_count", healthz), n + 1}}));
    CHECK(after.at("cvgate_http_request_duration_seconds_sum", healthz) >
          before.at("cvgate_http_request_duration_seconds_sum", healthz));
    // Each of the N+1 observations landed in exactly one bucket: the +Inf bucket holds all of
    // them, every bucket grew by 0..N+1, and cumulatively (checked by the parser in each scrape).
    std::size_t buckets = 0;
    for (const auto& b : after.samples) {
        if (b.name != std::string{h} + "_bucket" || b.labels.at("route") != "/healthz") continue;
        ++buckets;
        INFO("bucket le=" << b.labels.at("le"));
        const double grew = b.value - before.at(b.name, b.labels);
        CHECK(grew >= 0);
        CHECK(grew <= n + 1);
        if (b.labels.at("le") == "+Inf") CHECK(grew == n + 1);
    }
    CHECK(buckets == latency_bounds.size());

    // /healthz touches no dependency and carries no body.
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count").empty());
    CHECK(after.at("cvgate_upload_bytes_total") == before.at("cvgate_upload_bytes_total"));
}

TEST_CASE(
    "an accepted submit with two PDFs: one 202, one accepted submission, its body's bytes, and exactly "
    "the dependency calls of the flow") {
    Gateway gw;
    const Multipart form = form_without_delay(2, "accepted");
    const Exposition before = settled(gw);
    const Answer a = gw.post_form("/jobs/submit", form);
    INFO(a.raw.body());
    REQUIRE(a.status == 202);
    const Exposition after = settled(gw);
    REQUIRE(gw.take_messages().size() == 1);  // really queued

    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("/jobs/submit", "POST", "202"), 1}}));
    CHECK(moved(before, after, "cvgate_http_request_duration_seconds_count", not_metrics) ==
          changes({{series("cvgate_http_request_duration_seconds_count", {{"route", "/jobs/submit"}}), 1}}));
    CHECK(moved(before, after, "cvgate_submissions_total") ==
          changes({{series("cvgate_submissions_total", {{"flow", "submit"}, {"outcome", "accepted"}}), 1}}));
    CHECK(moved(before, after, "cvgate_rollbacks_total").empty());
    CHECK(moved(before, after, "cvgate_rollback_failures_total").empty());

    // Every body byte read is counted, and the scrapes in between carry none.
    CHECK(after.at("cvgate_upload_bytes_total") - before.get("cvgate_upload_bytes_total") ==
          static_cast<double>(form.body().size()));

    // Disk (a staging file per PDF, synced once complete, the journal entry, then one
    // placement), hot storage, queue, the journal entry dropped; nothing failed. The staged files' bytes go
    // out in batches, at least one per file.
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count", staged_writes) ==
          changes({{dependency_calls("volume", "stage"), 2},
                   {dependency_calls("volume", "record"), 1},
                   {dependency_calls("volume", "forget"), 1},
                   {dependency_calls("volume", "place"), 1},
                   {dependency_calls("volume", "sync"), 2},
                   {dependency_calls("mongodb", "insert"), 1},
                   {dependency_calls("rabbitmq", "publish"), 1}}));
    const Labels writes{{"dependency", "volume"}, {"operation", "write"}};
    CHECK(after.at("cvgate_dependency_call_duration_seconds_count", writes) -
              before.get("cvgate_dependency_call_duration_seconds_count", writes) >=
          2);
    for (const auto& [dep, op] : std::vector<std::pair<std::string, std::string>>{
             {"mongodb", "insert"}, {"rabbitmq", "publish"}, {"volume", "place"}}) {
        INFO(dep << " " << op);
        const Labels l{{"dependency", dep}, {"operation", op}, {"le", "+Inf"}};
        CHECK(after.at("cvgate_dependency_call_duration_seconds_bucket", l) -
                  before.get("cvgate_dependency_call_duration_seconds_bucket", l) ==
              1);
        const Labels s{{"dependency", dep}, {"operation", op}};
        CHECK(after.at("cvgate_dependency_call_duration_seconds_sum", s) >
              before.get("cvgate_dependency_call_duration_seconds_sum", s));
    }
    CHECK(moved(before, after, "cvgate_dependency_errors_total").empty());
}

TEST_CASE("a rejected submit (only a .txt file) is one 400 of the submit route and calls no dependency") {
    Gateway gw;
    Multipart form;
    form.field("jd_text", job_description()).file("notes.txt", "just some notes", "text/plain");
    const Exposition before = settled(gw);
    const Answer a = gw.post_form("/jobs/submit", form);
    REQUIRE(a.status == 400);
    const Exposition after = settled(gw);

    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("/jobs/submit", "POST", "400"), 1}}));
    // Submissions count what reached the flow's end: accepted, or rolled back. A rejected
    // form is neither (it is the 400 above).
    CHECK(moved(before, after, "cvgate_submissions_total").empty());
    CHECK(moved(before, after, "cvgate_rollbacks_total").empty());
    // Nothing staged, stored, inserted or published.
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count").empty());
    CHECK(moved(before, after, "cvgate_dependency_errors_total").empty());
    CHECK(after.at("cvgate_upload_bytes_total") - before.get("cvgate_upload_bytes_total") ==
          static_cast<double>(form.body().size()));
    gw.require_nothing_left();
}

TEST_CASE("job routes are labelled by their template, never by the job id in the path") {
    Gateway gw;
    const std::string unknown = "6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f";
    const Exposition before = settled(gw);
    REQUIRE(gw.get("/jobs/" + unknown + "/status").status == 404);
    REQUIRE(gw.get("/jobs/" + unknown + "/status?probe=7e2d1c3b-4a5f-4e6d-8c7b-9a0b1c2d3e4f").status == 404);
    REQUIRE(gw.get("/jobs/not-a-uuid-at-all/status").status == 400);
    REQUIRE(gw.post("/jobs/" + unknown + "/sync").status == 404);
    const Exposition after = settled(gw);

    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("/jobs/{job_id}/status", "GET", "404"), 2},
                   {request("/jobs/{job_id}/status", "GET", "400"), 1},
                   {request("/jobs/{job_id}/sync", "POST", "404"), 1}}));
    // Status: hot storage, then cold storage; sync: hot storage, then cold storage's results.
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count") ==
          changes({{dependency_calls("mongodb", "find"), 3},
                   {dependency_calls("postgresql", "find"), 2},
                   {dependency_calls("postgresql", "results"), 1}}));

    // Cardinality: no label value anywhere holds a raw path or an id.
    for (const std::string& raw :
         {unknown, std::string{"7e2d1c3b"}, std::string{"not-a-uuid-at-all"}, std::string{"probe"}}) {
        INFO(raw);
        CHECK(after.text.find(raw) == std::string::npos);
    }
    CHECK(histogram_routes(after) == histogram_routes(before));
}

TEST_CASE("paths that match no route share one bounded route label, and unknown methods one method label") {
    Gateway gw;
    const Exposition before = settled(gw);
    REQUIRE(gw.get("/no/such/path/a1b2c3d4").status == 404);
    REQUIRE(gw.get("/jobs/6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f/nothing-here").status == 404);
    REQUIRE(gw.post("/wp-login.php").status == 404);
    REQUIRE(gw.del("/healthz").status == 405);                                 // known path, wrong method
    REQUIRE(send_request(gw.port(), "BREWCOFFEE", "/healthz").status == 405);  // a method beast does not know
    const Exposition after = settled(gw);

    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("", "GET", "404"), 2},
                   {request("", "POST", "404"), 1},
                   {request("/healthz", "DELETE", "405"), 1},
                   {request("/healthz", "<unknown>", "405"), 1}}));
    CHECK(moved(before, after, "cvgate_http_request_duration_seconds_count", not_metrics) ==
          changes({{series("cvgate_http_request_duration_seconds_count", {{"route", ""}}), 3},
                   {series("cvgate_http_request_duration_seconds_count", {{"route", "/healthz"}}), 2}}));
    for (const std::string raw : {"no/such", "a1b2c3d4", "nothing-here", "wp-login", "BREWCOFFEE"}) {
        INFO(raw);
        CHECK(after.text.find(raw) == std::string::npos);
    }
    // Every route label is one of the templates fixed at start-up (or "").
    const auto routes = histogram_routes(before);
    for (const auto& s : after.samples) {
        if (s.name != "cvgate_http_requests_total") continue;
        INFO(series(s.name, s.labels));
        CHECK(routes.count(s.labels.at("route")) == 1);
    }
}

// ---- Gauges --------------------------------------------------------------------------

TEST_CASE(
    "the in-flight gauge counts the scrape itself and a request still receiving its body, the "
    "connections gauge a kept-alive connection, both come back down, and the abandoned request is a 499") {
    Gateway gw;
    const auto in_flight = [&] { return scrape(gw).at("cvgate_http_requests_in_flight"); };
    const auto connections = [&] { return scrape(gw).at("cvgate_http_connections"); };
    const Exposition before = settled(gw);
    // Every earlier request is over and its connection closed by its client (cvgate notices
    // a moment later): what is left is the scrape itself, in flight on its own connection.
    REQUIRE(eventually([&] { return in_flight() == 1 && connections() == 1; }));

    std::optional<Client> kept{std::in_place, gw.port()};
    kept->send(get_request("/healthz"));
    const Reply first = kept->read_reply();
    REQUIRE(first.result_int() == 200);
    REQUIRE(first.keep_alive());
    // The kept-alive connection, and the scrape's own (the previous scrape's connection may
    // take a moment to be seen closed: hence eventually, for an exact value).
    CHECK(eventually([&] { return connections() == 2; }));
    CHECK(eventually([&] { return in_flight() == 1; }));  // idle between requests: not in flight

    // A submit whose body stops half-way: in flight until the client goes away.
    const std::string body = form_without_delay(1, "half").body();
    kept->send(
        "POST /jobs/submit HTTP/1.1\r\nHost: cvgate.test\r\nContent-Type: " + Multipart::content_type() +
        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, body.size() / 2));
    CHECK(eventually([&] { return in_flight() == 2; }));
    CHECK(eventually([&] { return connections() == 2; }));

    kept.reset();  // the client goes away mid-body
    CHECK(eventually([&] { return in_flight() == 1 && connections() == 1; }));

    const Exposition after = settled(gw);
    CHECK(moved(before, after, "cvgate_http_requests_total", not_metrics) ==
          changes({{request("/healthz", "GET", "200"), 1}, {request("/jobs/submit", "POST", "499"), 1}}));
    CHECK(moved(before, after, "cvgate_submissions_total").empty());
    // The half of the body that arrived is counted (at least the part the parser consumed).
    const double bytes = after.at("cvgate_upload_bytes_total") - before.get("cvgate_upload_bytes_total");
    CHECK(bytes > 0);
    CHECK(bytes <= static_cast<double>(body.size() / 2));
}

// ---- Rollbacks -----------------------------------------------------------------------

TEST_CASE(
    "a publish that fails (the queue was deleted) is one 503, one rollback at stage queue, one "
    "rolled-back submission and one rabbitmq publish error") {
    Gateway gw;
    REQUIRE(gw.post_form("/jobs/submit", form_without_delay(1, "first")).status ==
            202);  // connected, declared
    REQUIRE(gw.take_messages().size() == 1);

    gw.delete_queue();  // mandatory publish with no queue bound to the routing key: returned
    const Exposition before = settled(gw);
    const Answer a = gw.post_form("/jobs/submit", form_without_delay(2, "lost"));
    INFO(a.raw.body());
    REQUIRE(a.status == 503);
    const Exposition after = settled(gw);

    check_one_rollback(before, after, "queue", "rabbitmq", "publish");
    // The flow, then its rollback: the document deleted, the job's directory removed.
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count", staged_writes) ==
          changes({{dependency_calls("volume", "stage"), 2},
                   {dependency_calls("volume", "record"), 1},
                   {dependency_calls("volume", "forget"), 1},
                   {dependency_calls("volume", "place"), 1},
                   {dependency_calls("volume", "sync"), 2},
                   {dependency_calls("mongodb", "insert"), 1},
                   {dependency_calls("rabbitmq", "publish"), 1},
                   {dependency_calls("mongodb", "delete"), 1},
                   {dependency_calls("volume", "remove_job"), 1}}));
    CHECK(gw.hot_count() == 1);  // the first job only
}

TEST_CASE(
    "a MongoDB outage during a submit is one 503, one rollback at stage hot_storage and one mongodb "
    "insert error, and after it an accepted submit counts as accepted again") {
    Gateway gw;
    Exposition before, after;
    {
        Outage mongo{"mongo"};
        before = settled(gw);
        const Answer a = gw.post_form("/jobs/submit", form_without_delay(2, "outage"));
        INFO(a.raw.body());
        CHECK(a.status == 503);
        after = settled(gw);
        mongo.end();
    }
    check_one_rollback(before, after, "hot_storage", "mongodb", "insert");
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count", staged_writes) ==
          changes({{dependency_calls("volume", "stage"), 2},
                   {dependency_calls("volume", "record"), 1},
                   {dependency_calls("volume", "forget"), 1},
                   {dependency_calls("volume", "place"), 1},
                   {dependency_calls("volume", "sync"), 2},
                   {dependency_calls("mongodb", "insert"), 1},
                   {dependency_calls("volume", "remove_job"), 1}}));

    gw.wait_ready(30s);
    const Exposition back = settled(gw);
    REQUIRE(gw.post_form("/jobs/submit", form_without_delay(1, "back")).status == 202);
    const Exposition later = settled(gw);
    CHECK(moved(back, later, "cvgate_submissions_total") ==
          changes({{series("cvgate_submissions_total", {{"flow", "submit"}, {"outcome", "accepted"}}), 1}}));
    CHECK(moved(back, later, "cvgate_dependency_errors_total").empty());
}

// ---- Requests refused before routing -------------------------------------------------

TEST_CASE(
    "requests refused from their head (body declared over MAX_BODY_SIZE, header block too large, "
    "malformed) are counted too, under bounded labels") {
    Gateway gw{[](cvgate::app::Config& c) { c.server.limits.max_body_size = 64 * 1024; }};
    Multipart big;
    big.field("jd_text", job_description()).file("big.pdf", pdf_bytes(std::string(128 * 1024, 'x')));
    const std::string huge_header = "X-Padding-9f8e7d: " + std::string(128 * 1024, 'p') + "\r\n";
    const Exposition before = settled(gw);
    REQUIRE(gw.post_form("/jobs/submit", big).status == 413);
    REQUIRE(send_request(gw.port(), "GET", "/healthz", huge_header).status == 431);
    {
        Client c{gw.port()};
        c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nthis-line-has-no-colon-5c4b3a\r\n\r\n");
        REQUIRE(c.read_reply().result_int() == 400);
    }
    const Exposition after = settled(gw);

    // The 413's head is whole: it is counted under the route it targets. The others are not
    // matched to a route: "" like any unmatched path, whatever their method label.
    const auto moved_where = [&](const Labels& where) {
        double sum = 0;
        for (const auto& s : after.samples) {
            if (s.name != "cvgate_http_requests_total" || s.labels.at("route") == "/metrics") continue;
            bool all = true;
            for (const auto& [k, v] : where) all = all && s.labels.at(k) == v;
            if (all) sum += s.value - before.get(s.name, s.labels);
        }
        return sum;
    };
    CHECK(moved_where({{"route", "/jobs/submit"}, {"method", "POST"}, {"status", "413"}}) == 1);
    CHECK(moved_where({{"route", ""}, {"status", "431"}}) == 1);
    CHECK(moved_where({{"route", ""}, {"status", "400"}}) == 1);
    CHECK(moved_where({}) == 3);
    for (const std::string raw : {"9f8e7d", "5c4b3a", "pppp"}) {
        INFO(raw);
        CHECK(after.text.find(raw) == std::string::npos);
    }
    CHECK(moved(before, after, "cvgate_dependency_call_duration_seconds_count").empty());
    CHECK(moved(before, after, "cvgate_submissions_total").empty());
}
