// The HTTP/1.1 server over real loopback sockets: keep-alive, pipelining, HEAD,
// 100-continue, chunked bodies, every limit and timeout, graceful shutdown.

#include "http/server_support.hpp"

#include <cvgate/api/service_routes.hpp>
#include <cvgate/http/error.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

using namespace cvgate;
using namespace std::chrono_literals;
using test::Client;
using test::detail_of;
using test::get_request;
using test::TestServer;

namespace {

namespace asio = boost::asio;

// 4 MiB that say which request they answer: far more than a socket takes at once.
std::string big_body(std::string_view seed) {
    std::string body;
    body.reserve(4 << 20);
    while (body.size() < (4u << 20)) {
        body += seed;
        body += ':';
        body += std::to_string(body.size());
        body += '\n';
    }
    return body;
}

// Service routes plus a few test routes: an echo, a slow handler, a thrower.
struct TestRoutes {
    http::Router router;
    std::atomic<int> slow_started{0};

    TestRoutes() {
        api::add_service_routes(router);
        router.add(http::Verb::post, "/echo", [](http::Request& req) -> asio::awaitable<http::Response> {
            std::string body = co_await req.read_all(1 << 20);
            http::Response res{http::Status::ok, 11};
            res.body() = std::move(body);
            co_return res;
        });
        router.add(http::Verb::post, "/ignore-body", [](http::Request&) -> asio::awaitable<http::Response> {
            co_return http::error_response(http::Status::bad_request, "rejected before reading");
        });
        router.add(http::Verb::get, "/slow", [this](http::Request&) -> asio::awaitable<http::Response> {
            ++slow_started;
            asio::steady_timer t{co_await asio::this_coro::executor, 400ms};
            co_await t.async_wait(asio::use_awaitable);
            co_return http::json_response(http::Status::ok, boost::json::object{{"slow", true}});
        });
        router.add(http::Verb::get, "/throw", [](http::Request&) -> asio::awaitable<http::Response> {
            throw std::runtime_error{"secret /var/lib/path and password=hunter2"};
            co_return http::Response{};
        });
        router.add(http::Verb::get, "/big/{seed}", [](http::Request& req) -> asio::awaitable<http::Response> {
            co_return http::Response{http::Status::ok, 11, big_body(req.param("seed"))};
        });
        router.add(http::Verb::get, "/forge", [](http::Request&) -> asio::awaitable<http::Response> {
            http::Response res{http::Status::ok, 11, "abc"};
            res.set(http::Field::date, "yesterday");
            res.set(http::Field::server, "evil");
            res.set("x-correlation-id", "forged");
            res.set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            res.set(http::Field::content_length, "999");
            res.set(http::Field::transfer_encoding, "chunked");
            res.set(http::Field::connection, "close");
            res.set("X-Kept", "yes");
            co_return res;
        });
        router.add(http::Verb::get, "/items/{id}", [](http::Request& req) -> asio::awaitable<http::Response> {
            co_return http::json_response(http::Status::ok, boost::json::object{{"id", req.param("id")}});
        });
    }
};

}  // namespace

TEST_CASE("GET /healthz answers 200 JSON with a fresh correlation id", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/healthz"));
    auto r = c.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(r[http::Field::content_type] == "application/json");
    CHECK(boost::json::parse(r.body()).at("status") == "ok");
    CHECK(ids::is_uuid_v4(r["X-Correlation-ID"]));
    CHECK(!r[http::Field::date].empty());
}

TEST_CASE("GET / names the service", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/"));
    auto body = boost::json::parse(c.read_reply().body());
    CHECK(body.at("service") == "api-gateway");
    CHECK(body.at("status") == "healthy");
    CHECK(body.at("version").is_string());
}

TEST_CASE("a valid X-Correlation-ID is echoed, an invalid one replaced", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/healthz", "X-Correlation-ID: abc-123:x.y_z\r\n"));
    CHECK(c.read_reply()["X-Correlation-ID"] == "abc-123:x.y_z");
    c.send(get_request("/healthz", "X-Correlation-ID: bad id<script>\r\n"));
    CHECK(ids::is_uuid_v4(c.read_reply()["X-Correlation-ID"]));
    c.send(get_request("/healthz", "X-Correlation-ID: " + std::string(129, 'a') + "\r\n"));
    CHECK(ids::is_uuid_v4(c.read_reply()["X-Correlation-ID"]));
}

TEST_CASE("a handler's own Date, Server, id, traceparent and framing fields give way to the server's",
          "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    for (int round = 0; round < 2; ++round) {  // the connection is kept: the handler's "close" is not sent
        c.send(get_request("/forge", "X-Correlation-ID: mine-1\r\n"));
        const std::string head = c.read_head_raw();
        INFO(head);
        const auto count = [&head](std::string_view name) {
            std::size_t n = 0;
            for (std::size_t at = head.find(name); at != std::string::npos; at = head.find(name, at + 1)) ++n;
            return n;
        };
        CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
        for (const char* name :
             {"Date: ", "Server: ", "X-Correlation-ID: ", "traceparent: ", "Content-Length: "})
            CHECK(count(name) == 1);
        CHECK(count("yesterday") + count("evil") + count("forged") + count("b7ad6b7169203331") == 0);
        CHECK(count("Transfer-Encoding") + count("Connection") + count("999") == 0);
        CHECK(count("\r\nServer: cvgate\r\n") == 1);
        CHECK(count("\r\nX-Correlation-ID: mine-1\r\n") == 1);
        CHECK(count("\r\nContent-Length: 3\r\n") == 1);
        CHECK(count("\r\nX-Kept: yes\r\n") == 1);
        CHECK(c.read_bytes(3) == "abc");
    }
}

TEST_CASE("keep-alive carries many requests on one connection", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    for (int i = 0; i < 20; ++i) {
        c.send(get_request("/items/" + std::to_string(i)));
        auto r = c.read_reply();
        REQUIRE(r.result_int() == 200);
        CHECK(boost::json::parse(r.body()).at("id").as_string() == std::to_string(i));
        CHECK(r.keep_alive());
    }
}

TEST_CASE("pipelined requests are answered in order", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    std::string burst;
    for (int i = 0; i < 10; ++i) burst += get_request("/items/" + std::to_string(i));
    burst += "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    burst += get_request("/slow");
    burst += get_request("/items/last");
    c.send(burst);
    for (int i = 0; i < 10; ++i)
        CHECK(boost::json::parse(c.read_reply().body()).at("id").as_string() == std::to_string(i));
    CHECK(c.read_reply().body() == "hello");
    CHECK(boost::json::parse(c.read_reply().body()).at("slow") == true);
    CHECK(boost::json::parse(c.read_reply().body()).at("id") == "last");
}

TEST_CASE("answers larger than the socket takes at once arrive whole and in order, to a reader that waits",
          "[http]") {
    // The server writes what the socket takes at once and the rest as the client reads: both
    // halves of an answer must arrive, and the next pipelined answer after them, untouched.
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/big/first") + get_request("/items/between") + get_request("/big/second"));
    std::this_thread::sleep_for(300ms);  // the server's socket buffer fills; its writes must wait
    const auto first = c.read_reply();
    CHECK(first.result_int() == 200);
    CHECK(first.body() == big_body("first"));
    CHECK(boost::json::parse(c.read_reply().body()).at("id") == "between");
    const auto second = c.read_reply();
    CHECK(second.body() == big_body("second"));
    CHECK(second.keep_alive());
    c.send(get_request("/healthz"));
    CHECK(c.read_reply().result_int() == 200);
}

TEST_CASE("HEAD gets the GET headers and no body", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    auto head = c.read_reply(true);
    CHECK(head.result_int() == 200);
    CHECK(head[http::Field::content_length] == "15");
    CHECK(head.body().empty());
    // Had a body been sent, it would now be read as the next response's start.
    c.send(get_request("/healthz"));
    CHECK(c.read_reply().body() == R"({"status":"ok"})");
}

TEST_CASE("unknown routes are 404 and wrong methods 405 with Allow, as JSON", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/nowhere"));
    auto nf = c.read_reply();
    CHECK(nf.result_int() == 404);
    CHECK(detail_of(nf) == "Not Found");
    c.send("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    auto na = c.read_reply();
    CHECK(na.result_int() == 405);
    CHECK(na[http::Field::allow] == "GET, HEAD");
    CHECK(detail_of(na) == "Method Not Allowed");
    CHECK(na.keep_alive());
}

TEST_CASE("Content-Length and chunked bodies both arrive whole", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    CHECK(c.read_reply().body() == "hello world");
    c.send(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
    CHECK(c.read_reply().body() == "hello world");
    std::string big(300'000, 'x');
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" +
           big);
    CHECK(c.read_reply().body() == big);
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the body is sent", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    CHECK_THAT(c.read_head_raw(), Catch::StartsWith("HTTP/1.1 100 Continue"));
    c.send("ping");
    auto r = c.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(r.body() == "ping");
}

TEST_CASE("a request refused before its body, with 100-continue, gets no 100 and the connection closes",
          "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
    auto r = c.read_reply();
    CHECK(r.result_int() == 400);
    CHECK(!r.keep_alive());
}

TEST_CASE("an unread small body is drained and the connection kept", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
    auto r = c.read_reply();
    CHECK(r.result_int() == 400);
    CHECK(r.keep_alive());
    c.send(get_request("/healthz"));
    CHECK(c.read_reply().result_int() == 200);
}

TEST_CASE("a header block over 16 KiB is 431 and the server stays healthy", "[http][limits]") {
    TestRoutes routes;
    TestServer server{routes.router};
    {
        Client c{server.port()};
        c.send(get_request("/healthz", "X-Big: " + std::string(17 * 1024, 'a') + "\r\n"));
        auto r = c.read_reply();
        CHECK(r.result_int() == 431);
        CHECK(detail_of(r) == "Request header block too large");
    }
    {
        Client c{server.port()};
        std::string many;
        for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
        c.send(get_request("/healthz", many));
        CHECK(c.read_reply().result_int() == 431);
    }
    Client ok{server.port()};
    ok.send(get_request("/healthz"));
    CHECK(ok.read_reply().result_int() == 200);
}

TEST_CASE("a body over MAX_BODY_SIZE is 413, declared or chunked", "[http][limits]") {
    TestRoutes routes;
    TestServer server{routes.router};
    {
        Client c{server.port()};
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n");
        auto r = c.read_reply();
        CHECK(r.result_int() == 413);
        CHECK(detail_of(r) == "Request body too large");
    }
    {
        Client c{server.port()};
        std::string chunk(64 * 1024, 'z');
        std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        c.send(req);
        std::string reply;
        try {
            for (int i = 0; i < 40; ++i) c.send("10000\r\n" + chunk + "\r\n");
        } catch (const std::exception&) {
            // The server may close while we still send: the answer is already on its way.
        }
        auto r = c.read_reply();
        CHECK(r.result_int() == 413);
    }
    Client ok{server.port()};
    ok.send(get_request("/healthz"));
    CHECK(ok.read_reply().result_int() == 200);
}

TEST_CASE("a malformed request line is 400 JSON and the connection closes", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("GARBAGE\r\n\r\n");
    auto r = c.read_reply();
    CHECK(r.result_int() == 400);
    CHECK(detail_of(r) == "Malformed HTTP request");
    CHECK(c.wait_closed(2s).has_value());
}

TEST_CASE("a handler's unexpected error is a bare 500 that leaks nothing", "[http]") {
    TestRoutes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send(get_request("/throw"));
    auto r = c.read_reply();
    CHECK(r.result_int() == 500);
    CHECK(detail_of(r) == "Internal server error");
    CHECK(r.body().find("hunter2") == std::string::npos);
    CHECK(r.body().find("/var/lib") == std::string::npos);
}

TEST_CASE("a slowloris client is cut off at the header timeout", "[http][timeouts]") {
    TestRoutes routes;
    TestServer server{routes.router};  // header timeout 800 ms
    Client c{server.port()};
    const auto start = std::chrono::steady_clock::now();
    const std::string head = get_request("/healthz", "X-Slow: " + std::string(100, 'a') + "\r\n");
    bool closed = false;
    for (char ch : head) {
        try {
            c.send(std::string_view{&ch, 1});
        } catch (const std::exception&) {
            closed = true;
            break;
        }
        std::this_thread::sleep_for(50ms);
        if (std::chrono::steady_clock::now() - start > 5s) break;
    }
    if (!closed) closed = c.wait_closed(3s).has_value();
    const auto held = std::chrono::steady_clock::now() - start;
    CHECK(closed);
    CHECK(held < 3s);  // far less than the ~6 s the trickle would take
}

TEST_CASE("a stalled body is cut off after the body inactivity timeout", "[http][timeouts]") {
    TestRoutes routes;
    TestServer server{routes.router};  // body timeout 800 ms
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
    auto closed_after = c.wait_closed(5s);
    REQUIRE(closed_after.has_value());
    CHECK(*closed_after >= 500ms);
    CHECK(*closed_after < 3s);
}

TEST_CASE("a slow but steady body is not cut off", "[http][timeouts]") {
    TestRoutes routes;
    TestServer server{routes.router};  // body timeout 800 ms, total transfer ~1.5 s
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n");
    for (int i = 0; i < 10; ++i) {
        std::this_thread::sleep_for(150ms);
        c.send("x");
    }
    CHECK(c.read_reply().body() == "xxxxxxxxxx");
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout", "[http][timeouts]") {
    TestRoutes routes;
    TestServer server{routes.router};  // idle timeout 1500 ms
    Client c{server.port()};
    c.send(get_request("/healthz"));
    CHECK(c.read_reply().result_int() == 200);
    auto closed_after = c.wait_closed(5s);
    REQUIRE(closed_after.has_value());
    CHECK(*closed_after >= 1s);
}

TEST_CASE("connections over the cap are refused with 503", "[http][limits]") {
    TestRoutes routes;
    auto options = TestServer::defaults();
    options.io_threads = 1;
    options.limits.max_connections = 2;
    TestServer server{routes.router, options};
    Client a{server.port()}, b{server.port()};
    a.send(get_request("/healthz"));
    b.send(get_request("/healthz"));
    CHECK(a.read_reply().result_int() == 200);
    CHECK(b.read_reply().result_int() == 200);
    Client c{server.port()};
    auto r = c.read_reply();
    CHECK(r.result_int() == 503);
    CHECK(r[http::Field::retry_after] == "1");
}

TEST_CASE("graceful shutdown lets in-flight requests finish and closes idle connections",
          "[http][shutdown]") {
    TestRoutes routes;
    auto server = std::make_unique<TestServer>(routes.router);
    const auto port = server->port();
    Client idle{port};
    idle.send(get_request("/healthz"));
    CHECK(idle.read_reply().result_int() == 200);

    Client busy{port};
    busy.send(get_request("/slow"));
    while (routes.slow_started.load() == 0) std::this_thread::sleep_for(5ms);

    auto stopping =
        std::async(std::launch::async, [&] { server->server().shutdown(std::chrono::milliseconds{3000}); });
    auto r = busy.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(!r.keep_alive());  // the in-flight answer says the connection ends
    CHECK(idle.wait_closed(2s).has_value());
    stopping.get();
    CHECK(server->server().connections() == 0);
    CHECK_THROWS(Client{port});  // nothing listens any more
}

// The drain (issue 15): after shutdown begins, idle keep-alive connections stay open for a
// while and what arrives on them is served, so that a balancer's pooled connection and the
// shutdown meeting in the same millisecond cost no request.
namespace {

http::ServerOptions drain_options() {
    auto options = TestServer::defaults();
    options.limits.idle_timeout = 10s;   // idle connections outlive every drain below
    options.limits.header_timeout = 5s;  // a head may straddle the drain's end
    return options;
}

// Makes `c` an idle keep-alive connection: one request answered, the connection kept.
void make_idle(Client& c) {
    c.send(get_request("/healthz"));
    auto r = c.read_reply();
    REQUIRE(r.result_int() == 200);
    REQUIRE(r.keep_alive());
}

}  // namespace

TEST_CASE(
    "during the drain, a request on an idle keep-alive connection gets a whole answer with "
    "Connection: close",
    "[http][shutdown][drain]") {
    TestRoutes routes;
    TestServer server{routes.router, drain_options()};
    Client idle{server.port()};
    make_idle(idle);

    auto stopping = std::async(std::launch::async, [&] { server.server().shutdown(4000ms, 1000ms); });
    while (!server.server().draining()) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(200ms);  // well inside the drain
    idle.send(get_request("/healthz"));
    auto r = idle.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(boost::json::parse(r.body()).at("status") == "ok");
    CHECK(!r.keep_alive());
    CHECK(idle.wait_closed(2s).has_value());  // closed after its answer, not at the drain's end
    stopping.get();
}

TEST_CASE("an idle connection is closed at the end of the drain, not when shutdown begins",
          "[http][shutdown][drain]") {
    TestRoutes routes;
    TestServer server{routes.router, drain_options()};
    Client idle{server.port()};
    make_idle(idle);
    Client unused{server.port()};  // opened, never used: idle as well
    while (server.server().connections() < 2) std::this_thread::sleep_for(1ms);

    const auto begun = std::chrono::steady_clock::now();
    auto stopping = std::async(std::launch::async, [&] { server.server().shutdown(4000ms, 1000ms); });
    REQUIRE(idle.wait_closed(3s).has_value());  // blocks until closed
    CHECK(std::chrono::steady_clock::now() - begun >= 900ms);
    CHECK(unused.wait_closed(1s).has_value());
    stopping.get();
    CHECK(server.server().connections() == 0);
}

TEST_CASE(
    "when shutdown begins the listener refuses new connections at once, while idle ones are still served",
    "[http][shutdown][drain]") {
    TestRoutes routes;
    TestServer server{routes.router, drain_options()};
    const auto port = server.port();
    Client idle{port};
    make_idle(idle);

    auto stopping = std::async(std::launch::async, [&] { server.server().shutdown(4000ms, 2000ms); });
    while (!server.server().draining()) std::this_thread::sleep_for(1ms);
    bool refused = false;
    for (const auto until = std::chrono::steady_clock::now() + 1s;
         !refused && std::chrono::steady_clock::now() < until;) {
        try {
            Client late{port};
            std::this_thread::sleep_for(5ms);
        } catch (const std::exception&) {
            refused = true;
        }
    }
    CHECK(refused);
    CHECK(stopping.wait_for(0s) != std::future_status::ready);  // still draining
    idle.send(get_request("/healthz"));
    auto r = idle.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(!r.keep_alive());
    stopping.get();
}

TEST_CASE(
    "a request whose first bytes came before the drain's end is served, and shutdown still ends "
    "within the grace period",
    "[http][shutdown][drain]") {
    TestRoutes routes;
    TestServer server{routes.router, drain_options()};
    const auto port = server.port();
    Client straddling{port}, stalled{port};
    make_idle(straddling);
    make_idle(stalled);

    const auto begun = std::chrono::steady_clock::now();
    auto stopping = std::async(std::launch::async, [&] { server.server().shutdown(3000ms, 1000ms); });
    std::this_thread::sleep_for(500ms);
    straddling.send("GET /healthz HTTP/1.1\r\n");
    stalled.send("GET /healthz HTTP/1.1\r\n");  // and nothing more: cut when the grace ends
    std::this_thread::sleep_for(1000ms);        // past the drain's end
    straddling.send("Host: test\r\n\r\n");
    auto r = straddling.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(!r.keep_alive());

    stopping.get();
    const auto took = std::chrono::steady_clock::now() - begun;
    CHECK(took < 3000ms + 1500ms);  // the grace, and a generous margin for a loaded machine
}

TEST_CASE("a connection answered with keep-alive just before shutdown begins is drained, not closed",
          "[http][shutdown][drain]") {
    TestRoutes routes;
    auto options = drain_options();
    // Holds the session between writing its answer and waiting for the next request, so that
    // the shutdown begins in that gap.
    std::atomic<bool> slow_log{false};
    options.on_access = [&](const http::AccessRecord&) {
        if (slow_log.exchange(false)) std::this_thread::sleep_for(300ms);
    };
    TestServer server{routes.router, options};
    Client c{server.port()};
    slow_log = true;
    c.send(get_request("/healthz"));
    REQUIRE(c.read_reply().keep_alive());  // the client may use the connection again

    auto stopping = std::async(std::launch::async, [&] { server.server().shutdown(4000ms, 1000ms); });
    while (!server.server().draining()) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(400ms);  // the session is past its log line, the drain not over
    c.send(get_request("/healthz"));
    auto r = c.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(!r.keep_alive());
    stopping.get();
}
