// W3C Trace Context over real sockets: every answer, early refusals included, carries a
// `traceparent` with the caller's trace (or a new one) and cvgate's own span, and every log
// line of a request names that trace and span.

#include "http/server_support.hpp"

#include <cvgate/api/service_routes.hpp>
#include <cvgate/app/logging.hpp>
#include <cvgate/app/request_log.hpp>

#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace cvgate;
using namespace std::chrono_literals;
using test::Client;
using test::get_request;
using test::TestServer;

namespace {

namespace asio = boost::asio;

const std::string caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string caller_span = "00f067aa0ba902b7";
const std::string caller = "traceparent: 00-" + caller_trace + "-" + caller_span + "-01\r\n";

struct Traceparent {
    std::string trace_id;
    std::string span_id;
    std::string flags;
};

// The answer's traceparent, which must be a valid version 00 one.
Traceparent traceparent_of(const test::Reply& reply) {
    const std::string value{reply["traceparent"]};
    static const std::regex form{"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$"};
    std::smatch m;
    REQUIRE(std::regex_match(value, m, form));
    REQUIRE(m[1] != std::string(32, '0'));
    REQUIRE(m[2] != std::string(16, '0'));
    return {m[1], m[2], m[3]};
}

struct Routes {
    http::Router router;
    Routes() {
        api::add_service_routes(router);
        router.add(http::Verb::post, "/echo", [](http::Request& req) -> asio::awaitable<http::Response> {
            http::Response res{http::Status::ok, 11};
            res.body() = co_await req.read_all(1 << 20);
            co_return res;
        });
        router.add(http::Verb::get, "/throw", [](http::Request&) -> asio::awaitable<http::Response> {
            throw std::runtime_error{"boom"};
            co_return http::Response{};
        });
    }
};

std::string str(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string{v->as_string()} : std::string{};
}

// The application's log, written to a pipe; lines() flushes and reads what is there.
class CapturedLog {
public:
    CapturedLog() {
        REQUIRE(::pipe(fds_) == 0);
        ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
        logger_ = std::make_unique<app::Logger>(app::LogLevel::info, app::LogFormat::json, fds_[1]);
    }
    ~CapturedLog() {
        logger_.reset();
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    app::Logger& logger() { return *logger_; }

    // Every line so far, parsed.
    std::vector<boost::json::object> lines() {
        logger_->flush();
        char buf[4096];
        for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;)
            text_.append(buf, static_cast<std::size_t>(n));
        std::vector<boost::json::object> out;
        for (std::size_t start = 0, nl; (nl = text_.find('\n', start)) != std::string::npos; start = nl + 1)
            out.push_back(boost::json::parse(text_.substr(start, nl - start)).as_object());
        return out;
    }
    // The lines with this message, waiting a moment for them (the access line follows the answer).
    std::vector<boost::json::object> lines_saying(std::string_view msg, std::size_t at_least = 1) {
        std::vector<boost::json::object> out;
        for (int i = 0; i < 100; ++i) {
            out.clear();
            for (auto& line : lines())
                if (str(line, "msg") == msg) out.push_back(std::move(line));
            if (out.size() >= at_least) break;
            std::this_thread::sleep_for(20ms);
        }
        return out;
    }

private:
    int fds_[2];
    std::unique_ptr<app::Logger> logger_;
    std::string text_;
};

}  // namespace

TEST_CASE("an answer carries the caller's trace with a span of cvgate's own", "[http][trace]") {
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/healthz", caller));
    const auto first = traceparent_of(c.read_reply());
    CHECK(first.trace_id == caller_trace);
    CHECK(first.span_id != caller_span);
    CHECK(first.flags == "01");
    // Each request is a span of its own; an unsampled caller stays unsampled.
    c.send(get_request("/healthz", "traceparent: 00-" + caller_trace + "-" + caller_span + "-00\r\n"));
    const auto second = traceparent_of(c.read_reply());
    CHECK(second.trace_id == caller_trace);
    CHECK(second.span_id != first.span_id);
    CHECK(second.flags == "00");
}

TEST_CASE("without a valid traceparent an answer starts a new trace", "[http][trace]") {
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    std::string headers;
    SECTION("none") {}
    SECTION("uppercase") {
        headers = "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-" + caller_span + "-01\r\n";
    }
    SECTION("all-zero trace id") {
        headers = "traceparent: 00-" + std::string(32, '0') + "-" + caller_span + "-01\r\n";
    }
    SECTION("version ff") { headers = "traceparent: ff-" + caller_trace + "-" + caller_span + "-01\r\n"; }
    SECTION("too short") { headers = "traceparent: 00-" + caller_trace + "-" + caller_span + "-1\r\n"; }
    SECTION("two of them") {
        headers = caller + "traceparent: 00-" + caller_trace + "-" + caller_span + "-00\r\n";
    }
    c.send(get_request("/healthz", headers));
    const auto fresh = traceparent_of(c.read_reply());
    CHECK(fresh.trace_id != caller_trace);
    CHECK(fresh.flags == "01");
    c.send(get_request("/healthz", headers));
    CHECK(traceparent_of(c.read_reply()).trace_id != fresh.trace_id);  // a new trace each time
}

TEST_CASE("early refusals carry the caller's trace, or a new one when the head was not read",
          "[http][trace][framing]") {
    Routes routes;
    TestServer server{routes.router};
    SECTION("413 by Content-Length") {
        Client c{server.port()};
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\n" + caller + "Content-Length: 2000000\r\n\r\n");
        const auto r = c.read_reply();
        CHECK(r.result_int() == 413);
        const auto t = traceparent_of(r);
        CHECK(t.trace_id == caller_trace);
        CHECK(t.span_id != caller_span);
    }
    SECTION("400 for a bad Transfer-Encoding") {
        Client c{server.port()};
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\n" + caller + "Transfer-Encoding: gzip\r\n\r\n");
        const auto r = c.read_reply();
        CHECK(r.result_int() == 400);
        CHECK(traceparent_of(r).trace_id == caller_trace);
    }
    SECTION("431: the caller's trace when the head was parsed whole, else a new one") {
        Client c{server.port()};
        c.send(get_request("/healthz", "X-Big: " + std::string(17 * 1024, 'a') + "\r\n" + caller));
        const auto r = c.read_reply();
        CHECK(r.result_int() == 431);
        const auto t = traceparent_of(r);  // valid either way
        if (t.trace_id == caller_trace) CHECK(t.span_id != caller_span);
    }
}

TEST_CASE("every log line of a request names its trace and cvgate's span", "[http][trace][logging]") {
    Routes routes;
    CapturedLog log;
    auto options = TestServer::defaults();
    options.on_access = [&log](const http::AccessRecord& r) { app::log_access(log.logger(), r); };
    options.on_error = [&log](const http::Request& req, std::string_view what) {
        app::log_unhandled_error(log.logger(), req, what);
    };
    TestServer server{routes.router, options};

    SECTION("a handler that fails: the error line and the access line") {
        Client c{server.port()};
        c.send(get_request("/throw", caller));
        const auto r = c.read_reply();
        REQUIRE(r.result_int() == 500);
        const auto t = traceparent_of(r);
        const auto errors = log.lines_saying("unhandled error");
        const auto requests = log.lines_saying("request");
        REQUIRE(errors.size() == 1);
        REQUIRE(requests.size() == 1);
        for (const auto& line : {errors[0], requests[0]}) {
            CHECK(str(line, "trace_id") == caller_trace);
            CHECK(str(line, "span_id") == t.span_id);
            CHECK(str(line, "correlation_id") == std::string{r["X-Correlation-ID"]});
        }
        CHECK(str(requests[0], "parent_span_id") == caller_span);
        CHECK(str(requests[0], "route") == "/throw");
    }
    SECTION("a new trace: the ids the answer carries, no parent") {
        Client c{server.port()};
        c.send(get_request("/healthz"));
        const auto t = traceparent_of(c.read_reply());
        const auto requests = log.lines_saying("request");
        REQUIRE(requests.size() == 1);
        CHECK(str(requests[0], "trace_id") == t.trace_id);
        CHECK(str(requests[0], "span_id") == t.span_id);
        CHECK_FALSE(requests[0].contains("parent_span_id"));
    }
    SECTION("an early refusal's line too") {
        Client c{server.port()};
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\n" + caller + "Content-Length: 2000000\r\n\r\n");
        const auto r = c.read_reply();
        REQUIRE(r.result_int() == 413);
        const auto requests = log.lines_saying("request");
        REQUIRE(requests.size() == 1);
        CHECK(requests[0].at("status") == 413);
        CHECK(str(requests[0], "trace_id") == caller_trace);
        CHECK(str(requests[0], "span_id") == traceparent_of(r).span_id);
        CHECK(str(requests[0], "parent_span_id") == caller_span);
    }
}
