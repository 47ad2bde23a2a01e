// libFuzzer target for the HTTP front door: arbitrary bytes, split at arbitrary points, go
// through the real connection session (http/session_impl.hpp) — request heads, RFC 9112
// framing checks, Content-Length and chunked bodies, 100-continue, pipelining, early
// refusals, the "busy" answer — as a client would send them, over an in-memory connection
// (memory_stream.hpp): the session's code is generic over its stream, and the same code the
// server runs on a TCP socket runs here without a system call.
//
// Input layout: the first 4 bytes seed the split points (0: the bytes go in one piece); a seed
// whose low 4 bits are all ones makes the connection one over the server's cap (Admission::
// refuse_busy). The rest is what the client sends, piece by piece, the session running
// between pieces as far as it can; then the client half-closes and reads to the end.
//
// Promises checked: no crash, no leak, no hang (the session ends once the client has
// half-closed and nothing else is awaited), and
// - what the server wrote is a sequence of whole HTTP/1.1 responses and nothing else;
// - every final response has a known status (no 500: no handler here throws), Date,
//   Content-Length and the X-Correlation-ID every answer carries; every 4xx/5xx is JSON
//   with a `detail`;
// - a response that says `Connection: close` is the last one; a connection over the cap
//   gets exactly one answer, a 503 that closes;
// - a connection's read buffer never grew past the head limit plus one read, and when it
//   ends, no connection, refusal or request is left counted.
//
// The same file builds, without libFuzzer, into a replayer of the regression corpus that
// runs in every CI build (fuzz_replay_main.cpp).

#include "cvgate/api/response_headers.hpp"
#include "cvgate/api/service_routes.hpp"
#include "cvgate/http/router.hpp"
#include "cvgate/http/server.hpp"
#include "cvgate/http/session.hpp"
#include "cvgate/http/session_impl.hpp"
#include "memory_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace http = cvgate::http;

constexpr std::size_t header_limit = 2048;
constexpr std::uint64_t max_body = 64 * 1024;

[[noreturn]] void broken(const char* what, std::string_view output) {
    std::fprintf(stderr, "http_session_fuzz: broken promise: %s\n--- server wrote (first 2 KiB) ---\n%.*s\n",
                 what, static_cast<int>(std::min<std::size_t>(output.size(), 2048)), output.data());
    std::abort();
}

struct Harness {
    asio::io_context ioc{1};
    http::Router router;
    std::shared_ptr<http::Server::Shared> shared;
    http::IdleSet idle;

    Harness() {
        cvgate::api::add_service_routes(router);
        router.add(http::Verb::post, "/echo", [](http::Request& req) -> asio::awaitable<http::Response> {
            std::string body = co_await req.read_all(8 * 1024);
            http::Response res{http::Status::ok, 11};
            res.body() = std::move(body);
            co_return res;
        });
        router.add(http::Verb::post, "/stream", [](http::Request& req) -> asio::awaitable<http::Response> {
            std::size_t total = 0;
            for (;;) {
                const std::string_view chunk = co_await req.read_some();
                if (chunk.empty()) break;
                total += chunk.size();
            }
            co_return http::json_response(http::Status::ok, boost::json::object{{"bytes", total}});
        });
        router.add(http::Verb::post, "/refuse", [](http::Request&) -> asio::awaitable<http::Response> {
            co_return http::error_response(http::Status::unprocessable_entity, "refused before the body");
        });
        router.add(http::Verb::get, "/items/{id}", [](http::Request& req) -> asio::awaitable<http::Response> {
            co_return http::json_response(http::Status::ok, boost::json::object{{"id", req.param("id")}});
        });

        http::ServerOptions options;
        options.limits.header_limit = header_limit;
        options.limits.max_body_size = max_body;
        // Nothing is timed on an in-memory connection (every input ends with a half-close);
        // the busy answer's wait for a head is bounded by a timer of its own, never needed.
        options.limits.header_timeout = std::chrono::seconds{5};
        options.limits.body_timeout = std::chrono::seconds{5};
        options.limits.idle_timeout = std::chrono::seconds{5};
        options.limits.write_timeout = std::chrono::seconds{5};
        cvgate::api::use_cvgate_headers(options, nullptr);
        shared = std::make_shared<http::Server::Shared>(std::move(options), router);
    }
};

Harness& harness() {
    static Harness h;
    return h;
}

bool known_status(unsigned s) {
    switch (s) {
        case 200:
        case 400:
        case 404:
        case 405:
        case 413:
        case 422:
        case 431:
        case 501:
        case 503:
        case 505:
            return true;
        default:
            return false;
    }
}

// A Transfer-Encoding that is exactly `chunked`: its one list element, once the list is read
// as RFC 9110 §5.6.1 says (optional whitespace around each element; empty elements, as in
// `, chunked`, MUST be accepted and ignored).
bool only_chunked(std::string_view list) {
    std::size_t codings = 0;
    bool chunked = false;
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view element = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t'))
            element.remove_prefix(1);
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t'))
            element.remove_suffix(1);
        if (element.empty()) continue;
        ++codings;
        chunked = beast::iequals(element, "chunked");
    }
    return codings == 1 && chunked;
}

// RFC 9112's refusals of a head (see first_answer).
bool must_be_refused(const bhttp::request<bhttp::empty_body>& head) {
    auto [te, te_end] = head.equal_range(bhttp::field::transfer_encoding);
    if (te != te_end) {
        if (head.version() < 11) return true;
        // Several field lines are one comma-separated list (RFC 9110 §5.3): an empty line
        // before `Transfer-Encoding: chunked` leaves just `chunked`, two `chunked` lines do not.
        std::string list;
        for (; te != te_end; ++te) (list += te->value()) += ',';
        if (!only_chunked(list)) return true;
    }
    auto [host, host_end] = head.equal_range(bhttp::field::host);
    return head.version() >= 11 && (host == host_end || std::next(host) != host_end);
}

// What the first request must get, judged apart from the server's own code: a head over the
// limit (request line included), 431; else, by RFC 9112, a Transfer-Encoding that is not
// exactly `chunked` (or any on HTTP/1.0), or an HTTP/1.1 head without exactly one Host, must
// be refused (400, or 501 for a coding before chunked). All of them close.
enum class FirstAnswer { any, refusal, too_large };
FirstAnswer first_answer(std::string_view input) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(boost::none);  // as the server reads a head: else a large Content-Length hides it
    parser.eager(false);
    boost::system::error_code ec;
    const std::size_t head_size = parser.put(asio::buffer(input.data(), input.size()), ec);
    if (ec || !parser.is_header_done()) return FirstAnswer::any;
    // Beast, given a head in one piece, lets it pass its limit by the request line's length.
    if (head_size > header_limit) return FirstAnswer::too_large;
    return must_be_refused(parser.get()) ? FirstAnswer::refusal : FirstAnswer::any;
}

// Which of the requests the input holds, in order, are HEAD: their answers have no body
// (RFC 9110 §9.3.2) whatever their Content-Length says, refusals of a whole head included.
// Read as the server reads them: a head first, whole or not, with no body limit (the server
// judges Content-Length once the head is whole, so a 413 to HEAD has no body either); a head
// over the limit gets a 431 whatever its method, as the server cannot trust it.
std::vector<bool> head_requests(std::string_view input) {
    std::vector<bool> heads;
    while (!input.empty()) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(boost::none);
        parser.eager(false);
        boost::system::error_code ec;
        std::size_t head_size = 0;
        try {
            head_size = parser.put(asio::buffer(input.data(), input.size()), ec);
        } catch (const std::length_error&) {  // Beast throws on a field of 64 KiB or more
            break;
        }
        if (ec || !parser.is_header_done()) break;
        if (head_size > header_limit) {
            heads.push_back(false);
            break;
        }
        heads.push_back(parser.get().method() == bhttp::verb::head);
        if (parser.content_length() && *parser.content_length() > max_body) break;  // 413, closed
        // The body: a broken or cut one ends the connection after its answer.
        parser.body_limit(max_body);
        parser.eager(true);
        input.remove_prefix(head_size);
        std::size_t body_size = 0;
        try {
            if (!parser.is_done()) body_size = parser.put(asio::buffer(input.data(), input.size()), ec);
        } catch (const std::length_error&) {  // the same, in a chunked body's trailer
            break;
        }
        if (ec || !parser.is_done()) break;
        input.remove_prefix(body_size);
    }
    return heads;
}

void check_output(const std::string& out, FirstAnswer first, bool busy, const std::vector<bool>& heads) {
    // The server may close without a word when the client sent no whole head.
    if (out.empty() && !busy && first == FirstAnswer::any) return;
    beast::flat_buffer buffer;
    auto dst = buffer.prepare(out.size());
    std::memcpy(dst.data(), out.data(), out.size());
    buffer.commit(out.size());
    bool closed = false;
    std::size_t answered = 0;  // final responses so far: the index of the request answered next
    do {
        if (closed) broken("bytes after a response that said Connection: close", out);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.eager(true);
        parser.body_limit(16u << 20);
        // The busy 503 answers the head it read, when whole: to HEAD, without a body too.
        const bool to_head = answered < heads.size() && heads[answered];
        parser.skip(to_head);
        boost::system::error_code ec;
        const std::size_t used = parser.put(buffer.data(), ec);
        if (ec || !parser.is_done()) broken("not a sequence of whole HTTP responses", out);
        buffer.consume(used);
        const auto& res = parser.get();
        const unsigned status = res.result_int();
        if (status == 100 && !busy) continue;
        ++answered;
        if (!known_status(status)) broken("unexpected status", out);
        if (busy && (status != 503 || res.keep_alive()))
            broken("a connection over the cap got something else than a 503 that closes", out);
        if (first == FirstAnswer::refusal && !busy && ((status != 400 && status != 501) || res.keep_alive()))
            broken("a request RFC 9112 refuses was served (smuggling?)", out);
        if (first == FirstAnswer::too_large && !busy && (status != 431 || res.keep_alive()))
            broken("a head over the limit did not get a 431 that closes", out);
        first = FirstAnswer::any;
        if (res.version() != 11) broken("not HTTP/1.1", out);
        if (res[bhttp::field::date].empty()) broken("no Date", out);
        if (res[bhttp::field::content_length].empty()) broken("no Content-Length", out);
        if (res["X-Correlation-ID"].empty()) broken("no X-Correlation-ID", out);
        if (status >= 400 && !to_head) {
            boost::system::error_code jec;
            const auto body = boost::json::parse(res.body(), jec);
            if (jec || !body.is_object() || !body.as_object().contains("detail"))
                broken("an error without a JSON detail", out);
        }
        closed = !res.keep_alive();
    } while (buffer.size() > 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Harness& h = harness();
    std::uint32_t seed = 0;
    if (size >= 4) {
        std::memcpy(&seed, data, 4);
        data += 4;
        size -= 4;
    }
    const std::string_view input{reinterpret_cast<const char*>(data), size};
    const bool busy = (seed & 0xF) == 0xF;

    cvgate::test::MemoryWire wire{h.ioc.get_executor()};
    bool finished = false;
    asio::co_spawn(h.ioc,
                   http::serve_connection(cvgate::test::MemoryStream{wire}, h.idle, h.shared,
                                          busy ? http::Admission::refuse_busy : http::Admission::serve),
                   [&finished](std::exception_ptr e) {
                       if (e) std::rethrow_exception(e);
                       finished = true;
                   });

    std::size_t at = 0;
    std::uint32_t x = seed | 1;
    while (at < input.size() && !finished) {
        std::size_t piece = input.size() - at;
        if (seed != 0) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;  // xorshift32: the split points
            piece = std::min<std::size_t>(piece, 1 + x % 97);
        }
        if (!wire.send(input.substr(at, piece))) break;  // the server closed: the rest is never read
        at += piece;
        h.ioc.restart();
        h.ioc.poll();
        if (wire.received().size() > (64u << 20)) broken("unbounded output", wire.received());
    }
    wire.finish_sending();
    h.ioc.restart();
    h.ioc.run();  // nothing left to wait for once the client has half-closed
    const std::string& out = wire.received();
    if (!finished) broken("the session still waits after the client's half-close (a hang)", out);
    if (!wire.server_gone() || wire.read_pending()) broken("the session ended but left its stream open", out);
    if (h.shared->connections.load() != 0 || h.shared->in_flight.load() != 0 ||
        h.shared->refusing.load() != 0)
        broken("a connection, request or refusal is still counted after its session ended", out);

    check_output(out, first_answer(input), busy, head_requests(input));
    if (h.shared->largest_read_buffer.load() > header_limit + http::parse_window)
        broken("a connection's read buffer grew past its cap", out);
    return 0;
}
