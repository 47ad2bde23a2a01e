#pragma once
// The connection session, generic over its byte stream (not a public header): its loop waits
// for a request, reads and checks its head, hands it to the router, answers and logs it, and
// closes the connection gracefully. session.cpp instantiates it for TimedSocket, the
// server's; the fuzz target for an in-memory stream, so that an input costs microseconds
// instead of a socket pair's system calls. The body it lends the handler is
// request_body_impl.hpp; the head it answers with, response_head.hpp.

#include <cvgate/http/error.hpp>
#include <cvgate/http/framing.hpp>
#include <cvgate/http/request_body_impl.hpp>
#include <cvgate/http/request_parser.hpp>
#include <cvgate/http/response_head.hpp>
#include <cvgate/http/session.hpp>
#include <cvgate/http/stream_control.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

namespace cvgate::http {

namespace session_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How long a connection over the cap may take to send the head its "busy" answer echoes.
inline constexpr auto busy_head_time = std::chrono::seconds{1};
inline constexpr auto linger_time = std::chrono::seconds{2};
inline constexpr std::uint64_t linger_limit = 4 << 20;
// Requests a connection may be served without waiting (its bytes already here, its answer
// taken by the socket at once) before it gives its thread back to the other connections.
inline constexpr unsigned inline_requests = 16;

// Counts a request as in flight for as long as it lives.
class InFlight {
public:
    explicit InFlight(std::atomic<std::size_t>& n) : n_{n} { n_.fetch_add(1, std::memory_order_relaxed); }
    ~InFlight() { n_.fetch_sub(1, std::memory_order_relaxed); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    std::atomic<std::size_t>& n_;
};

// What a request is answered and logged under: the application's id for it (ServerOptions::
// request_id) and its span (ServerOptions::trace_context), both from its head.
struct RequestNames {
    std::string id;
    ids::TraceContext trace;
};

// One connection: reads requests, hands them to the router, writes the answers. Stream is
// TimedSocket in production (session.cpp) and an in-memory stream in the fuzz target.
template <SessionStream Stream>
class Session final {
    using Control = StreamControl<Stream>;

public:
    Session(Stream stream, IdleSet& idle, std::shared_ptr<Server::Shared> shared)
        : stream_{std::move(stream)},
          idle_{idle},
          shared_{std::move(shared)},
          limits_{shared_->options.limits},
          buffer_{limits_.header_limit + parse_window},
          body_{stream_, buffer_, limits_} {
        shared_->connections.fetch_add(1, std::memory_order_relaxed);
        idle_node_.stream = &stream_;
        idle_node_.cancel = [](void* stream) noexcept { Control::cancel(*static_cast<Stream*>(stream)); };
    }
    ~Session() {
        idle_.erase(idle_node_);
        auto& largest = shared_->largest_read_buffer;
        for (std::size_t seen = largest.load(std::memory_order_relaxed); buffer_.capacity() > seen;)
            if (largest.compare_exchange_weak(seen, buffer_.capacity(), std::memory_order_relaxed)) break;
        shared_->connections.fetch_sub(1, std::memory_order_relaxed);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    asio::awaitable<void> run();
    asio::awaitable<void> refuse_busy(bool read_head);

private:
    using Buffers = std::array<asio::const_buffer, 2>;
    using HeadResult = std::pair<boost::system::error_code, std::size_t>;

    asio::awaitable<bool> wait_for_request(bool first);
    HeadResult parse_buffered_head(RequestParser& parser);
    asio::awaitable<HeadResult> read_head(RequestParser& parser, std::size_t used);
    // An answer on its way: its bytes, and how far writing them without waiting got.
    struct Outgoing {
        Buffers buffers;
        std::size_t written = 0;
        boost::system::error_code ec;
        bool partial() const { return !ec && written < asio::buffer_size(buffers); }
    };
    Outgoing send_now(const RequestHead& head, Response& response, bool keep_alive, bool head_only);
    asio::awaitable<boost::system::error_code> write_rest(const Outgoing& out);
    RequestParser& start_request();
    const Handler* route_request(Request& request, std::string_view& route, Response& response);
    void name(const RequestHead& head);
    asio::awaitable<void> answer_and_close(Response response, std::chrono::steady_clock::time_point start,
                                           bool head_complete);
    asio::awaitable<void> close_gracefully();
    void log(const RequestHead& head, std::string_view route, unsigned status, std::uint64_t out,
             std::chrono::steady_clock::time_point start);
    std::string_view buffered_text() const {
        const auto data = buffer_.data();
        return {static_cast<const char*>(data.data()), data.size()};
    }

    Stream stream_;
    IdleSet& idle_;
    IdleSet::Node idle_node_;
    std::shared_ptr<Server::Shared> shared_;
    const ServerLimits& limits_;
    beast::flat_buffer buffer_;
    std::string head_;    // the response head being written; its capacity is kept
    RequestNames names_;  // the current request's (name()); the id's capacity is kept
    std::optional<RequestParser> parser_;
    RequestBody<Stream> body_;
    bool linger_ = false;                     // the client may still be sending when we close
    unsigned inline_left_ = inline_requests;  // see inline_requests; refilled by every wait
};

// Waits for the first bytes of the next request, when none are buffered (run() asks first: a
// pipelined request costs no coroutine frame). Meanwhile the connection is idle: a shutdown
// leaves it open for the drain and closes it at the drain's end (IdleSet::close_all), unless
// its bytes have arrived by then. A new connection counts as idle until its first bytes come:
// its peer opened it to send something, and may do so during the drain.
template <SessionStream Stream>
asio::awaitable<bool> Session<Stream>::wait_for_request(bool first) {
    // No "closing if a shutdown has begun" here: an answer written just before the shutdown
    // promised keep-alive, so the peer may use the connection again; it drains like any idle
    // one. (Answers written during the shutdown say `Connection: close`; run() closes then.)
    if (idle_.closed()) co_return false;
    Control::expires_after(stream_, first ? limits_.header_timeout : limits_.idle_timeout);
    idle_.insert(idle_node_);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(first_read_size), use_tuple);
    idle_.erase(idle_node_);
    inline_left_ = inline_requests;
    if (ec) co_return false;
    buffer_.commit(n);
    co_return true;
}

// The request's head, parsed from what is buffered: the error (need_more when the head is not
// all here) and the bytes used. No trip through the event loop, no coroutine frame.
template <SessionStream Stream>
auto Session<Stream>::parse_buffered_head(RequestParser& parser) -> HeadResult {
    boost::system::error_code ec = bhttp::error::need_more;
    std::size_t used = 0;
    if (buffer_.size() > 0) {
        used = parser.put(buffer_.data(), ec);
        buffer_.consume(used);
    }
    return {ec, used};
}

// The rest of a head that parse_buffered_head found incomplete (`used` bytes of it so far),
// read within the header timeout.
template <SessionStream Stream>
auto Session<Stream>::read_head(RequestParser& parser, std::size_t used) -> asio::awaitable<HeadResult> {
    Control::expires_after(stream_, limits_.header_timeout);  // the whole head: slow clients get no more
    auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
    inline_left_ = inline_requests;
    co_return HeadResult{ec, used + n};
}

// Writes the rest of an answer that send_now could not write whole, within the write timeout.
template <SessionStream Stream>
asio::awaitable<boost::system::error_code> Session<Stream>::write_rest(const Outgoing& out) {
    beast::buffers_suffix<Buffers> rest{out.buffers};
    rest.consume(out.written);
    Control::expires_after(stream_, limits_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, rest, use_tuple);
    inline_left_ = inline_requests;
    co_return ec;
}

// A fresh parser for the next request's head (Content-Length is checked once the head is
// whole, so that the 413 can carry what the head asks of every answer: the client's
// correlation id, CORS), and its body to come.
template <SessionStream Stream>
RequestParser& Session<Stream>::start_request() {
    auto& parser = parser_.emplace();
    parser.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
    parser.body_limit(boost::none);
    body_.start(parser);
    return parser;
}

// The handler the request's method and path are routed to; else null, with the 404 or 405
// in `response`.
template <SessionStream Stream>
const Handler* Session<Stream>::route_request(Request& request, std::string_view& route, Response& response) {
    const Router::Match match = shared_->router->match(request.method(), request.path(), request.params());
    if (match.outcome == Router::Outcome::not_found) {
        response = error_response(Status::not_found, "Not Found");
        return nullptr;
    }
    route = match.pattern;
    if (match.outcome == Router::Outcome::method_not_allowed) {
        response = error_response(Status::method_not_allowed, "Method Not Allowed");
        response.set(Field::allow, match.allow);
        return nullptr;
    }
    request.set_route(match.pattern);
    return match.handler;
}

// The names the request is answered and logged under (names_).
template <SessionStream Stream>
void Session<Stream>::name(const RequestHead& head) {
    const auto& o = shared_->options;
    if (o.request_id)
        o.request_id(head, names_.id);
    else
        names_.id.clear();
    names_.trace = o.trace_context ? o.trace_context(head) : ids::TraceContext{};
}

// Every answer leaves through here, early refusals included: the application's last touch,
// then the head, rendered with the server's stamps into one reused buffer (response_head.hpp),
// and the body in a single gather write (Beast's serializer walks a buffers_cat_view of every
// header field, which was the largest user-space cost of a small answer). What the socket
// takes at once is written here, without a coroutine frame or a trip through the event loop,
// unless the connection has been served inline_requests times without waiting; the caller
// writes the rest (write_rest) and logs the answer.
template <SessionStream Stream>
auto Session<Stream>::send_now(const RequestHead& head, Response& response, bool keep_alive, bool head_only)
    -> Outgoing {
    const auto& options = shared_->options;
    if (options.on_response) options.on_response(head, names_.id, names_.trace, response);
    render_head(options, Stamp{names_.id, names_.trace, keep_alive}, response, head_);
    Outgoing out;
    out.buffers = {asio::buffer(head_), head_only ? asio::const_buffer{} : asio::buffer(response.body())};
    if (inline_left_ == 0) return out;
    --inline_left_;
    out.written = Control::try_write(stream_, out.buffers, out.ec);
    if (out.ec == asio::error::would_block) {
        out.ec = {};
        out.written = 0;
    }
    return out;
}

// For requests that never reached a handler (bad head, over a limit, server busy): answer,
// then close. Logged like every request; under the route they target when the head is whole.
template <SessionStream Stream>
asio::awaitable<void> Session<Stream>::answer_and_close(Response response,
                                                        std::chrono::steady_clock::time_point start,
                                                        bool head_complete) {
    static const RequestHead no_head;
    const RequestHead& head = parser_ ? parser_->get().base() : no_head;
    std::string_view route;
    if (head_complete) {
        RouteParams params;
        const std::string_view target = head.target();
        route = shared_->router->match(head.method(), target.substr(0, target.find('?')), params).pattern;
    }
    linger_ = true;
    name(head);
    // An answer to HEAD has no body (RFC 9110 §9.3.2), refusals included.
    const bool head_only = head_complete && head.method() == Verb::head;
    Outgoing out = send_now(head, response, false, head_only);
    if (out.partial()) co_await write_rest(out);
    log(head, route, response.result_int(), head_only ? 0 : response.body().size(), start);
}

template <SessionStream Stream>
void Session<Stream>::log(const RequestHead& head, std::string_view route, unsigned status, std::uint64_t out,
                          std::chrono::steady_clock::time_point start) {
    if (!shared_->options.on_access) return;
    shared_->options.on_access(AccessRecord{
        head.method(), head.target(), route, status, body_.bytes_in(), out,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start),
        names_.id, names_.trace});
}

template <SessionStream Stream>
asio::awaitable<void> Session<Stream>::run() {
    for (bool first = true;; first = false) {
        // Whatever can be done without waiting is done inline, not in a coroutine of its own.
        if (buffer_.size() == 0 && !co_await wait_for_request(first)) break;
        const auto start = std::chrono::steady_clock::now();

        auto& parser = start_request();
        auto [ec, n] = parse_buffered_head(parser);
        if (ec == bhttp::error::need_more) std::tie(ec, n) = co_await read_head(parser, n);
        // Beast checks its header_limit per parse step; a head that arrives in one piece can
        // pass it, so the size consumed is checked here as well.
        if (!ec && n > limits_.header_limit) ec = bhttp::error::header_limit;
        if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
            co_await answer_and_close(
                error_response(Status::request_header_fields_too_large, "Request header block too large"),
                start, false);
            break;
        }
        if (ec && is_disconnect(ec)) break;
        if (ec == bhttp::error::bad_version && names_other_http_version(buffered_text())) {
            co_await answer_and_close(
                error_response(Status::http_version_not_supported, "HTTP version not supported"), start,
                false);
            break;
        }
        if (ec) {
            co_await answer_and_close(error_response(Status::bad_request, "Malformed HTTP request"), start,
                                      false);
            break;
        }
        RequestHead& head = parser.get().base();
        if (const auto refusal = check_head(head)) {
            co_await answer_and_close(error_response(refusal->status, refusal->detail), start, true);
            break;
        }
        if (parser.content_length() && *parser.content_length() > limits_.max_body_size) {
            co_await answer_and_close(error_response(Status::payload_too_large, "Request body too large"),
                                      start, true);
            break;
        }
        parser.body_limit(limits_.max_body_size);  // a chunked body counts against it as it comes
        if (auto origin = origin_form(head.target())) head.target(*origin);

        InFlight counted{shared_->in_flight};
        if (beast::iequals(head[Field::expect], "100-continue")) body_.client_awaits_continue();
        name(head);
        Request request{head, body_, names_.id, &names_.trace};
        std::string_view route;
        Response response;
        bool aborted = false;
        try {
            if (const Handler* handler = route_request(request, route, response))
                response = co_await (*handler)(request);
        } catch (const HttpError& e) {
            response = error_response(e.status(), e.detail());
        } catch (const ConnectionAborted&) {
            aborted = true;
        } catch (const std::exception& e) {
            if (shared_->options.on_error) shared_->options.on_error(request, e.what());
            response = error_response(Status::internal_server_error, "Internal server error");
        }
        if (aborted) {
            log(head, route, 499, 0, start);
            break;
        }

        bool body_consumed = parser.is_done();  // a request without a body: no frame for finish()
        if (!body_consumed) body_consumed = co_await body_.finish();
        linger_ = !body_consumed;
        const bool keep_alive =
            parser.get().keep_alive() && body_consumed && !shared_->draining.load(std::memory_order_relaxed);
        const bool head_only = head.method() == Verb::head;
        Outgoing out = send_now(head, response, keep_alive, head_only);
        if (out.partial()) out.ec = co_await write_rest(out);
        log(head, route, response.result_int(), head_only ? 0 : response.body().size(), start);
        if (out.ec || !keep_alive) break;
    }
    co_await close_gracefully();
}

// Half-close, then read and drop what the client is still sending for a moment: closing
// with unread data would reset the connection, and the client could lose our answer.
template <SessionStream Stream>
asio::awaitable<void> Session<Stream>::close_gracefully() {
    Control::shutdown_send(stream_);
    if (linger_) {
        Control::expires_after(stream_, linger_time);
        std::array<char, 16 * 1024> sink;
        for (std::uint64_t total = 0; total < linger_limit;) {
            auto [ec, n] = co_await stream_.async_read_some(asio::buffer(sink), use_tuple);
            if (ec) break;
            total += n;
        }
    }
}

// A connection over the cap: read its head for a moment (when few are being refused), so the
// 503 can carry the client's correlation id and CORS headers, answer, close.
template <SessionStream Stream>
asio::awaitable<void> Session<Stream>::refuse_busy(bool read_head) {
    const auto start = std::chrono::steady_clock::now();
    auto& parser = start_request();
    bool head_complete = false;
    if (read_head) {
        // A timer that cancels the read, not the stream's expiry, which would close the
        // socket before the 503 is written.
        using namespace asio::experimental::awaitable_operators;
        Control::expires_never(stream_);
        asio::steady_timer deadline{stream_.get_executor(), std::min<std::chrono::steady_clock::duration>(
                                                                limits_.header_timeout, busy_head_time)};
        auto read = co_await (bhttp::async_read_header(stream_, buffer_, parser, use_tuple) ||
                              deadline.async_wait(use_tuple));
        head_complete = read.index() == 0 && !std::get<0>(std::get<0>(read));
    }
    Response busy = error_response(Status::service_unavailable, "Server busy: too many connections");
    busy.set(Field::retry_after, "1");
    co_await answer_and_close(std::move(busy), start, head_complete);
    linger_ = false;  // a refused connection is not worth keeping around
    Control::shutdown_both(stream_);
}

}  // namespace session_detail

// A connection's whole life: its requests (Admission::serve) or its "busy" answer.
template <SessionStream Stream>
boost::asio::awaitable<void> serve_connection(Stream stream, IdleSet& idle,
                                              std::shared_ptr<Server::Shared> shared,
                                              Admission admission = Admission::serve) {
    using session_detail::Session;
    if (admission == Admission::refuse_busy) {
        const bool read_head = shared->refusing.fetch_add(1) < max_refusals_reading_head;
        {
            Session<Stream> session{std::move(stream), idle, shared};
            co_await session.refuse_busy(read_head);
        }
        shared->refusing.fetch_sub(1);
        co_return;
    }
    Session<Stream> session{std::move(stream), idle, std::move(shared)};
    co_await session.run();
}

}  // namespace cvgate::http
