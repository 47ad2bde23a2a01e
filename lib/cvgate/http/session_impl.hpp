#pragma once
// The connection session, generic over its byte stream (not a public header): session.cpp
// instantiates it for beast::tcp_stream, the server's; the fuzz target for an in-memory
// stream, so that an input costs microseconds instead of a socket pair's system calls.

#include <cvgate/http/error.hpp>
#include <cvgate/http/framing.hpp>
#include <cvgate/http/session.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace cvgate::http {

// What a session needs of its stream beyond reading and writing: a deadline on its next
// operations (an inactivity timeout that ends the connection), the bytes readable at once,
// a half-close, a full one, and cancelling a pending read (IdleSet). One specialisation
// per stream type.
template <class Stream>
struct StreamControl;

template <class Stream>
concept SessionStream = boost::beast::is_async_stream<Stream>::value &&
    requires(Stream& s, const Stream& cs, std::chrono::steady_clock::duration d) {
    StreamControl<Stream>::expires_after(s, d);
    StreamControl<Stream>::expires_never(s);
    { StreamControl<Stream>::available(cs) } -> std::convertible_to<std::size_t>;
    StreamControl<Stream>::shutdown_send(s);
    StreamControl<Stream>::shutdown_both(s);
    StreamControl<Stream>::cancel(s);
};

namespace session_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// "HTTP/1.1 200 OK\r\n", every field as "Name: value\r\n", then "\r\n".
void render_head(const Response& response, std::string& out);
// The Date header's value, formatted once per second per thread.
std::string_view http_date();
bool is_disconnect(const boost::system::error_code& ec);

inline constexpr std::size_t body_chunk_size = 64 * 1024;
inline constexpr std::size_t first_read_size = 4096;
// How long a connection over the cap may take to send the head its "busy" answer echoes.
inline constexpr auto busy_head_time = std::chrono::seconds{1};
// After an answer given before the body was read (a 4xx, say), up to this much of the
// rest is read and dropped to keep the connection; beyond, the connection is closed.
inline constexpr std::uint64_t drain_limit = 256 * 1024;
inline constexpr auto linger_time = std::chrono::seconds{2};
inline constexpr std::uint64_t linger_limit = 4 << 20;

// Beast's request parser, except that a field name or value too long for Beast's field
// container (which keeps sizes in 16 bits and throws std::length_error past them) is a
// header_limit error instead. Thrown in the middle of a read, that exception would leave
// the I/O thread's run() and end the process: one chunked request with a trailer field of
// 64 KiB did it (the read buffer holds a trailer section of up to MAX_HEADER_SIZE + 64 KiB),
// as did a header field that long with MAX_HEADER_SIZE over 64 KiB.
class RequestParser final : public bhttp::request_parser<bhttp::buffer_body> {
public:
    static constexpr std::size_t max_field_size = std::numeric_limits<std::uint16_t>::max() - 2;

private:
    void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                       beast::error_code& ec) override {
        if (name_string.size() > max_field_size || value.size() > max_field_size) {
            ec = bhttp::error::header_limit;
            return;
        }
        get().insert(name, name_string, value);
    }
};

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

// One connection: reads requests, hands them to the router, writes the answers. Stream is
// beast::tcp_stream in production (session.cpp) and an in-memory stream in the fuzz target.
template <SessionStream Stream>
class Session final : public BodySource {
    using Control = StreamControl<Stream>;

public:
    Session(Stream stream, IdleSet& idle, std::shared_ptr<Server::Shared> shared)
        : stream_{std::move(stream)},
          idle_{idle},
          shared_{std::move(shared)},
          limits_{shared_->options.limits},
          buffer_{limits_.header_limit + parse_window} {
        shared_->connections.fetch_add(1, std::memory_order_relaxed);
        idle_node_.stream = &stream_;
        idle_node_.cancel = [](void* stream) noexcept { Control::cancel(*static_cast<Stream*>(stream)); };
    }
    ~Session() override {
        idle_.erase(idle_node_);
        auto& largest = shared_->largest_read_buffer;
        for (std::size_t seen = largest.load(std::memory_order_relaxed); buffer_.capacity() > seen;)
            if (largest.compare_exchange_weak(seen, buffer_.capacity(), std::memory_order_relaxed)) break;
        shared_->connections.fetch_sub(1, std::memory_order_relaxed);
    }

    asio::awaitable<void> run();
    asio::awaitable<void> refuse_busy(bool read_head);

    // BodySource
    asio::awaitable<std::string_view> read_some() override;
    bool done() const noexcept override { return parser_->is_done(); }
    bool at_hand() const noexcept override {
        return parser_->is_done() || buffer_.size() > 0 || Control::available(stream_) > 0;
    }

private:
    asio::awaitable<bool> wait_for_request(bool first);
    asio::awaitable<Response> dispatch(Request& request, std::string_view& route);
    asio::awaitable<bool> finish_body();
    asio::awaitable<bool> write(Response& response, bool head_only);
    std::string request_id(const RequestHead& head) const;
    ids::TraceContext trace_context(const RequestHead& head) const;
    std::string_view buffered_text() const {
        const auto data = buffer_.data();
        return {static_cast<const char*>(data.data()), data.size()};
    }
    void stamp(const RequestHead& head, std::string_view request_id, const ids::TraceContext& trace,
               Response& response, bool keep_alive) const;
    asio::awaitable<void> answer_and_close(Response response, std::chrono::steady_clock::time_point start,
                                           bool head_complete);
    asio::awaitable<void> close_gracefully();
    void log(Verb method, std::string_view target, std::string_view route, unsigned status, std::uint64_t out,
             std::chrono::steady_clock::time_point start, std::string_view correlation_id,
             const ids::TraceContext& trace);

    Stream stream_;
    IdleSet& idle_;
    IdleSet::Node idle_node_;
    std::shared_ptr<Server::Shared> shared_;
    const ServerLimits& limits_;
    beast::flat_buffer buffer_;
    std::string head_;  // the response head being written; its capacity is kept
    std::optional<RequestParser> parser_;
    std::unique_ptr<char[]> chunk_;
    std::size_t chunk_size_ = 0;
    bool expect_continue_ = false;
    bool continue_sent_ = false;
    bool linger_ = false;  // the client may still be sending when we close
    std::uint64_t body_bytes_in_ = 0;
};

// Waits for the first bytes of the next request. Meanwhile the connection is idle: a shutdown
// leaves it open for the drain and closes it at the drain's end (IdleSet::close_all), unless
// its bytes have arrived by then. A new connection counts as idle until its first bytes come:
// its peer opened it to send something, and may do so during the drain.
template <SessionStream Stream>
asio::awaitable<bool> Session<Stream>::wait_for_request(bool first) {
    if (buffer_.size() > 0) co_return true;  // a pipelined request is already here
    // No "closing if a shutdown has begun" here: an answer written just before the shutdown
    // promised keep-alive, so the peer may use the connection again; it drains like any idle
    // one. (Answers written during the shutdown say `Connection: close`; run() closes then.)
    if (idle_.closed()) co_return false;
    Control::expires_after(stream_, first ? limits_.header_timeout : limits_.idle_timeout);
    idle_.insert(idle_node_);
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(first_read_size), use_tuple);
    idle_.erase(idle_node_);
    if (ec) co_return false;
    buffer_.commit(n);
    co_return true;
}

template <SessionStream Stream>
asio::awaitable<std::string_view> Session<Stream>::read_some() {
    auto& parser = *parser_;
    if (parser.is_done()) {
        // The body was read whole: an idle keep-alive connection keeps no body buffers.
        chunk_.reset();
        chunk_size_ = 0;
        if (buffer_.size() == 0) buffer_.shrink_to_fit();
        co_return std::string_view{};
    }
    if (expect_continue_ && !continue_sent_) {
        continue_sent_ = true;
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
        Control::expires_after(stream_, limits_.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(stream_, go_on, use_tuple);
        if (ec) throw ConnectionAborted{"client went away"};
    }
    for (;;) {
        // Bytes waiting: read them in large pieces (the head's 4 KiB buffer would cost a
        // system call and a trip through the reactor per 4 KiB). None: the client is slow
        // or stalled; wait with small buffers, so that a stalled upload holds little memory.
        const std::size_t size = at_hand() ? body_chunk_size : first_read_size;
        if (size == body_chunk_size)
            buffer_.reserve(body_chunk_size);
        else if (buffer_.size() == 0)
            buffer_.shrink_to_fit();
        if (chunk_size_ != size) {
            chunk_ = std::make_unique_for_overwrite<char[]>(size);
            chunk_size_ = size;
        }
        auto& body = parser.get().body();
        body.data = chunk_.get();
        body.size = size;
        Control::expires_after(stream_, limits_.body_timeout);  // inactivity, not total
        auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser, use_tuple);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec == bhttp::error::body_limit)
            throw HttpError{Status::payload_too_large, "Request body too large"};
        if (ec == bhttp::error::buffer_overflow || ec == bhttp::error::header_limit)
            throw HttpError{Status::bad_request, "Chunk line or trailer section too large"};
        if (ec && is_disconnect(ec)) throw ConnectionAborted{"body not received"};
        if (ec) throw HttpError{Status::bad_request, "Malformed request body: " + ec.message()};
        const std::size_t got = size - parser.get().body().size;
        body_bytes_in_ += got;
        if (got > 0) co_return std::string_view{chunk_.get(), got};
        if (parser.is_done()) co_return std::string_view{};
    }
}

// Reads and drops what the handler left of the body, so the connection can carry the next
// request. False when the connection must close instead.
template <SessionStream Stream>
asio::awaitable<bool> Session<Stream>::finish_body() {
    if (parser_->is_done()) co_return true;
    if (expect_continue_ && !continue_sent_) co_return false;  // the client holds the body back
    const std::uint64_t stop_at = body_bytes_in_ + drain_limit;
    try {
        while (!parser_->is_done()) {
            co_await read_some();
            if (body_bytes_in_ > stop_at) co_return false;
        }
    } catch (const std::exception&) {
        co_return false;
    }
    co_return true;
}

template <SessionStream Stream>
asio::awaitable<Response> Session<Stream>::dispatch(Request& request, std::string_view& route) {
    const Router::Match match = shared_->router->match(request.method(), request.path(), request.params());
    if (match.outcome == Router::Outcome::not_found) co_return error_response(Status::not_found, "Not Found");
    if (match.outcome == Router::Outcome::method_not_allowed) {
        route = match.pattern;
        Response res = error_response(Status::method_not_allowed, "Method Not Allowed");
        res.set(Field::allow, match.allow);
        co_return res;
    }
    route = match.pattern;
    request.set_route(match.pattern);
    co_return co_await (*match.handler)(request);
}

// The head is rendered into one reused buffer and goes out with the body in a single
// gather write: Beast's serializer walks a buffers_cat_view of every header field, which
// was the largest user-space cost of a small answer.
template <SessionStream Stream>
asio::awaitable<bool> Session<Stream>::write(Response& response, bool head_only) {
    render_head(response, head_);
    Control::expires_after(stream_, limits_.write_timeout);
    const std::array<asio::const_buffer, 2> buffers{
        asio::buffer(head_), head_only ? asio::const_buffer{} : asio::buffer(response.body())};
    auto [ec, n] = co_await asio::async_write(stream_, buffers, use_tuple);
    co_return !ec;
}

template <SessionStream Stream>
std::string Session<Stream>::request_id(const RequestHead& head) const {
    return shared_->options.request_id ? shared_->options.request_id(head) : std::string{};
}

template <SessionStream Stream>
ids::TraceContext Session<Stream>::trace_context(const RequestHead& head) const {
    return shared_->options.trace_context ? shared_->options.trace_context(head) : ids::TraceContext{};
}

// What every response gets, early refusals included: the server's own fields, then the
// application's hook.
template <SessionStream Stream>
void Session<Stream>::stamp(const RequestHead& head, std::string_view request_id,
                            const ids::TraceContext& trace, Response& response, bool keep_alive) const {
    response.version(11);
    response.set(Field::date, http_date());
    if (shared_->options.on_response) shared_->options.on_response(head, request_id, trace, response);
    response.keep_alive(keep_alive);
    response.prepare_payload();
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
    const std::string id = request_id(head);
    const ids::TraceContext trace = trace_context(head);
    stamp(head, id, trace, response, false);
    linger_ = true;
    co_await write(response, false);
    log(head.method(), head.target(), route, response.result_int(), response.body().size(), start, id, trace);
}

template <SessionStream Stream>
void Session<Stream>::log(Verb method, std::string_view target, std::string_view route, unsigned status,
                          std::uint64_t out, std::chrono::steady_clock::time_point start,
                          std::string_view correlation_id, const ids::TraceContext& trace) {
    if (!shared_->options.on_access) return;
    shared_->options.on_access(AccessRecord{
        method, target, route, status, body_bytes_in_, out,
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start),
        correlation_id, trace});
}

template <SessionStream Stream>
asio::awaitable<void> Session<Stream>::run() {
    for (bool first = true;; first = false) {
        if (!co_await wait_for_request(first)) break;
        const auto start = std::chrono::steady_clock::now();

        auto& parser = parser_.emplace();
        parser.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
        // Content-Length is checked once the head is whole, so that the 413 can carry what
        // the head asks of every answer (the client's correlation id, CORS).
        parser.body_limit(boost::none);
        body_bytes_in_ = 0;
        continue_sent_ = false;
        Control::expires_after(stream_, limits_.header_timeout);  // the whole head: slow clients get no more
        auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
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
        expect_continue_ = beast::iequals(head[Field::expect], "100-continue");
        const std::string correlation_id = request_id(head);
        const ids::TraceContext trace = trace_context(head);
        Request request{head, *this, correlation_id, &trace};
        std::string_view route;
        Response response;
        bool aborted = false;
        try {
            response = co_await dispatch(request, route);
        } catch (const HttpError& e) {
            response = error_response(e.status(), e.detail());
        } catch (const ConnectionAborted&) {
            aborted = true;
        } catch (const std::exception& e) {
            if (shared_->options.on_error) shared_->options.on_error(request, e.what());
            response = error_response(Status::internal_server_error, "Internal server error");
        }
        if (aborted) {
            log(head.method(), head.target(), route, 499, 0, start, correlation_id, trace);
            break;
        }

        const bool body_consumed = co_await finish_body();
        linger_ = !body_consumed;
        const bool keep_alive =
            parser.get().keep_alive() && body_consumed && !shared_->draining.load(std::memory_order_relaxed);
        stamp(head, correlation_id, trace, response, keep_alive);

        const bool written = co_await write(response, head.method() == Verb::head);
        log(head.method(), head.target(), route, response.result_int(),
            head.method() == Verb::head ? 0 : response.body().size(), start, correlation_id, trace);
        if (!written || !keep_alive) break;
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
    auto& parser = parser_.emplace();
    parser.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
    parser.body_limit(boost::none);
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
