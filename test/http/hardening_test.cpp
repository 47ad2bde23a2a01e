// The server against hostile framing, over real loopback sockets: RFC 9112's body framing
// rules (request smuggling), bounded buffers for chunk lines and trailers, Host, the
// absolute form, the headers every early refusal carries, and one owner per port.
// Each case failed before the fix it guards.

#include "http/server_support.hpp"

#include <cvgate/api/access_policy.hpp>
#include <cvgate/api/response_headers.hpp>
#include <cvgate/api/service_routes.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <system_error>

using namespace cvgate;
using namespace std::chrono_literals;
using test::Client;
using test::detail_of;
using test::get_request;
using test::TestServer;

namespace {

namespace asio = boost::asio;

struct Routes {
    http::Router router;
    Routes() {
        api::add_service_routes(router);
        router.add(http::Verb::post, "/echo", [](http::Request& req) -> asio::awaitable<http::Response> {
            std::string body = co_await req.read_all(1 << 20);
            http::Response res{http::Status::ok, 11};
            res.body() = std::move(body);
            co_return res;
        });
        router.add(http::Verb::get, "/smuggled", [](http::Request&) -> asio::awaitable<http::Response> {
            co_return http::json_response(http::Status::ok, boost::json::object{{"smuggled", true}});
        });
    }
};

// Sends `bytes` in pieces; stops quietly once the server has closed (its answer is on its way).
void send_until_closed(Client& c, const std::string& bytes, std::size_t piece = 64 * 1024) {
    try {
        for (std::size_t at = 0; at < bytes.size(); at += piece)
            c.send(std::string_view{bytes}.substr(at, piece));
    } catch (const std::exception&) {
    }
}

// A request whose body smuggles a second request: answered once, refused, connection closed.
void check_refused_without_smuggling(std::uint16_t port, const std::string& head, unsigned status) {
    Client c{port};
    c.send(head + "\r\n" + "0\r\n\r\n" + get_request("/smuggled"));
    const auto r = c.read_reply();
    CHECK(r.result_int() == status);
    CHECK(!r.keep_alive());
    const std::string rest = c.read_until_closed(2s);
    CHECK(rest.find("smuggled") == std::string::npos);
}

}  // namespace

TEST_CASE("a Transfer-Encoding whose final coding is not chunked is 400 and nothing is smuggled",
          "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    for (const std::string te :
         {"chunked, gzip", "gzip", "xchunked", "", "chunked;x=1", "chunked, chunked"}) {
        INFO("Transfer-Encoding: " << te);
        check_refused_without_smuggling(
            server.port(), "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + te + "\r\n", 400);
    }
    INFO("two fields: gzip, then chunked twice");
    check_refused_without_smuggling(
        server.port(),
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", 400);
}

TEST_CASE("a coding before chunked is 501: the server decodes none", "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    check_refused_without_smuggling(
        server.port(), "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n", 501);
}

TEST_CASE("a HEAD request refused before routing gets its refusal's head only, no body", "[http][framing]") {
    // fuzz-fast found it (corpus/http_session/head-refusal-no-body): an early refusal to HEAD
    // carried its JSON detail, bytes a client reading HEAD's answer takes for the next answer.
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("HEAD /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    const std::string out = c.read_until_closed(std::chrono::seconds{5});
    INFO(out);
    CHECK(out.starts_with("HTTP/1.1 501 "));
    CHECK(out.find("Content-Length: 0\r\n") == std::string::npos);  // says the refusal's length
    CHECK(out.ends_with("\r\n\r\n"));                               // and sends none of it
}

TEST_CASE("Transfer-Encoding on an HTTP/1.0 request is 400 and the connection closes", "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    check_refused_without_smuggling(
        server.port(), "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n",
        400);
}

TEST_CASE("chunked with OWS and any case still frames the body", "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:  ChUnKeD \r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    const auto r = c.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(r.body() == "hello");
    CHECK(r.keep_alive());
}

TEST_CASE("a chunk line with endless extensions is cut off at the buffer cap", "[http][limits]") {
    Routes routes;
    TestServer server{routes.router};
    // Before the cap, the server buffered every byte of the line, waiting for its end, and
    // never answered: a handler that reads the body gets a 400...
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
    send_until_closed(c, std::string(256 << 10, 'a'));
    const auto r = c.read_reply();
    CHECK(r.result_int() == 400);
    CHECK(detail_of(r) == "Chunk line or trailer section too large");
    CHECK(!r.keep_alive());
    // ...one that does not gets its answer, and the connection closes instead of draining.
    Client g{server.port()};
    g.send("GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
    send_until_closed(g, std::string(256 << 10, 'a'));
    const auto healthz = g.read_reply();
    CHECK(healthz.result_int() == 200);
    CHECK(!healthz.keep_alive());
    Client ok{server.port()};
    ok.send(get_request("/healthz"));
    CHECK(ok.read_reply().result_int() == 200);
}

TEST_CASE("a trailer section that never ends is cut off at the buffer cap", "[http][limits]") {
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: ");
    send_until_closed(c, std::string(256 << 10, 'a'));
    const auto r = c.read_reply();
    CHECK(r.result_int() == 400);
    CHECK(detail_of(r) == "Chunk line or trailer section too large");
    // Many short trailer fields add up the same way.
    Client d{server.port()};
    d.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
    std::string fields;
    for (int i = 0; fields.size() < (256u << 10); ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
    send_until_closed(d, fields);
    CHECK(d.read_reply().result_int() == 400);
}

TEST_CASE("a field of 64 KiB or more is refused, not thrown out of the I/O thread", "[http][limits]") {
    // Beast's field container cannot hold one and throws std::length_error in the middle of
    // a read; that exception left the I/O thread's run() and ended the process (found by
    // http_session_fuzz). Under the default limits a trailer section may be that long...
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: " +
           std::string(65534, 'a') + "\r\n\r\n");
    const auto r = c.read_reply();
    CHECK(r.result_int() == 400);
    CHECK(detail_of(r) == "Chunk line or trailer section too large");
    CHECK(!r.keep_alive());
    // ...and a head when MAX_HEADER_SIZE is over 64 KiB.
    auto options = TestServer::defaults();
    options.limits.header_limit = 256 << 10;
    TestServer roomy{routes.router, options};
    Client h{roomy.port()};
    h.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(65534, 'b') + "\r\n\r\n");
    CHECK(h.read_reply().result_int() == 431);
    for (const auto port : {server.port(), roomy.port()}) {
        Client ok{port};
        ok.send(get_request("/healthz"));
        CHECK(ok.read_reply().result_int() == 200);
    }
}

TEST_CASE("HTTP/1.1 needs exactly one valid Host; HTTP/1.0 needs none", "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    const std::pair<std::string, unsigned> cases[] = {
        {"GET /healthz HTTP/1.1\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        {"GET /healthz HTTP/1.1\r\nHost: cvgate.example:8080\r\n\r\n", 200},
        {"GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200},
        {"GET /healthz HTTP/1.0\r\n\r\n", 200},
    };
    for (const auto& [request, status] : cases) {
        INFO(request);
        Client c{server.port()};
        c.send(request);
        const auto r = c.read_reply();
        CHECK(r.result_int() == status);
        if (status == 400) CHECK(c.wait_closed(2s).has_value());
    }
}

TEST_CASE("a version other than HTTP/1.0 or 1.1 is 505 and the connection closes", "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    for (const std::string version : {"HTTP/2.0", "HTTP/0.9", "HTTP/1.2"}) {
        INFO(version);
        Client c{server.port()};
        c.send("GET /healthz " + version + "\r\nHost: t\r\n\r\n");
        const auto r = c.read_reply();
        CHECK(r.result_int() == 505);
        CHECK(c.wait_closed(2s).has_value());
    }
}

TEST_CASE("an absolute-form target is served like its origin form", "[http][framing]") {
    Routes routes;
    TestServer server{routes.router};
    Client c{server.port()};
    c.send("GET http://cvgate.example/healthz HTTP/1.1\r\nHost: cvgate.example\r\n\r\n");
    auto r = c.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(boost::json::parse(r.body()).at("status") == "ok");
    c.send("GET HTTPS://cvgate.example:443?x=1 HTTP/1.1\r\nHost: cvgate.example\r\n\r\n");
    r = c.read_reply();
    CHECK(r.result_int() == 200);
    CHECK(boost::json::parse(r.body()).at("service") == "api-gateway");
}

TEST_CASE("early refusals carry the client's correlation id and the CORS headers", "[http][framing]") {
    Routes routes;
    const api::AccessPolicy policy{{}, {"https://app.example"}};
    auto options = TestServer::defaults();
    api::use_cvgate_headers(options, &policy);
    options.limits.max_connections = 1;
    options.io_threads = 1;
    TestServer server{routes.router, options};
    const std::string ask = "Origin: https://app.example\r\nX-Correlation-ID: trace-42\r\n";

    auto check_stamped = [](const test::Reply& r, unsigned status) {
        CHECK(r.result_int() == status);
        CHECK(r["X-Correlation-ID"] == "trace-42");
        CHECK(r[http::Field::access_control_allow_origin] == "https://app.example");
        CHECK(r[http::Field::server] == "cvgate");
        CHECK(!r.keep_alive());
    };
    SECTION("413 by Content-Length, what a browser uploading a big file gets") {
        Client c{server.port()};
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\n" + ask + "Content-Length: 2000000\r\n\r\n");
        check_stamped(c.read_reply(), 413);
    }
    SECTION("400 for a bad Transfer-Encoding") {
        Client c{server.port()};
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\n" + ask + "Transfer-Encoding: gzip\r\n\r\n");
        check_stamped(c.read_reply(), 400);
    }
    SECTION("503 busy") {
        Client first{server.port()};
        first.send(get_request("/healthz"));
        REQUIRE(first.read_reply().result_int() == 200);
        Client c{server.port()};
        c.send(get_request("/healthz", ask));
        const auto r = c.read_reply();
        check_stamped(r, 503);
        CHECK(r[http::Field::retry_after] == "1");
    }
    SECTION("431: the client's id when the head was parsed whole, else a fresh one") {
        Client c{server.port()};
        c.send(get_request("/healthz", ask + "X-Big: " + std::string(17 * 1024, 'a') + "\r\n"));
        const auto r = c.read_reply();
        CHECK(r.result_int() == 431);
        CHECK((r["X-Correlation-ID"] == "trace-42" || ids::is_uuid_v4(r["X-Correlation-ID"])));
    }
    SECTION("503 busy to a client that sends no head in time still gets its answer") {
        Client first{server.port()};
        first.send(get_request("/healthz"));
        REQUIRE(first.read_reply().result_int() == 200);
        Client silent{server.port()};
        const auto r = silent.read_reply();
        CHECK(r.result_int() == 503);
        CHECK(ids::is_uuid_v4(r["X-Correlation-ID"]));
    }
}

TEST_CASE("a second server on the same address fails at start, the first keeps serving", "[http][port]") {
    Routes routes;
    TestServer first{routes.router};
    auto options = TestServer::defaults();
    options.address = "127.0.0.1";
    options.port = first.port();
    try {
        http::Server second{options, routes.router};
        FAIL("a second server bound the port");
    } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::address_in_use);
        CHECK_THAT(e.what(), Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
    }
    for (int i = 0; i < 20; ++i) {
        Client c{first.port()};
        c.send(get_request("/healthz"));
        CHECK(c.read_reply().result_int() == 200);
    }
}

TEST_CASE("a server does not join a port another program listens on", "[http][port]") {
    asio::io_context ioc;
    asio::ip::tcp::acceptor other{ioc, asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
    Routes routes;
    auto options = TestServer::defaults();
    options.address = "127.0.0.1";
    options.port = other.local_endpoint().port();
    CHECK_THROWS_AS((http::Server{options, routes.router}), std::system_error);
}
