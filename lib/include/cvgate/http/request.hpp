#pragma once
// What a handler sees of a request: the head, the route's parameters, the correlation id and
// trace context the application gave it, and a body it pulls chunk by chunk (or whole, under a
// limit) — never buffered for it.

#include <cvgate/ids/trace_context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/verb.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace cvgate::http {

using Verb = boost::beast::http::verb;
using Field = boost::beast::http::field;
using RequestHead = boost::beast::http::request_header<>;

// The values of a route template's `{name}` segments; views into the request target.
class RouteParams {
public:
    static constexpr std::size_t capacity = 4;

    bool add(std::string_view name, std::string_view value) noexcept {
        if (count_ == capacity) return false;
        items_[count_++] = {name, value};
        return true;
    }
    std::string_view get(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < count_; ++i)
            if (items_[i].first == name) return items_[i].second;
        return {};
    }
    std::size_t size() const noexcept { return count_; }
    void clear() noexcept { count_ = 0; }

private:
    std::array<std::pair<std::string_view, std::string_view>, capacity> items_{};
    std::size_t count_ = 0;
};

// Pulls the body off the connection; implemented by the session.
class BodySource {
public:
    virtual ~BodySource() = default;
    // The next chunk (valid until the next call), or an empty view once the body is done.
    // Throws HttpError (413 over MAX_BODY_SIZE, 400 malformed chunked coding) or
    // ConnectionAborted (client gone, body inactivity timeout).
    virtual boost::asio::awaitable<std::string_view> read_some() = 0;
    virtual bool done() const noexcept = 0;
    // True when read_some() would not wait for the network (bytes already received).
    virtual bool at_hand() const noexcept { return true; }
};

class Request {
public:
    // `trace` (may be null: not traced) must outlive the request.
    Request(const RequestHead& head, BodySource& body, std::string_view correlation_id,
            const ids::TraceContext* trace = nullptr)
        : head_{&head}, body_{&body}, correlation_id_{correlation_id}, trace_{trace} {}

    Verb method() const noexcept { return head_->method(); }
    std::string_view target() const noexcept { return head_->target(); }
    // The target without its query string.
    std::string_view path() const noexcept;
    std::string_view header(Field field) const noexcept;
    std::string_view header(std::string_view name) const noexcept;
    const RequestHead& head() const noexcept { return *head_; }

    std::string_view param(std::string_view name) const noexcept { return params_.get(name); }
    RouteParams& params() noexcept { return params_; }
    std::string_view correlation_id() const noexcept { return correlation_id_; }
    // The request's span (ServerOptions::trace_context); empty when not traced.
    const ids::TraceContext& trace() const noexcept;

    // The route template that matched (`/jobs/{job_id}/status`), for logs and metrics.
    std::string_view route() const noexcept { return route_; }
    void set_route(std::string_view route) noexcept { route_ = route; }

    boost::asio::awaitable<std::string_view> read_some() { return body_->read_some(); }
    bool body_at_hand() const noexcept { return body_->at_hand(); }
    // The whole body; HttpError 413 when it grows past `limit` bytes.
    boost::asio::awaitable<std::string> read_all(std::size_t limit);

private:
    const RequestHead* head_;
    BodySource* body_;
    std::string_view correlation_id_;
    const ids::TraceContext* trace_;
    std::string_view route_;
    RouteParams params_;
};

}  // namespace cvgate::http
