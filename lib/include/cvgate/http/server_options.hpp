#pragma once
// What an HTTP server is told: where to listen, its limits and timeouts against hostile
// clients (each default named once), and the application's hooks on every request.

#include <cvgate/http/request.hpp>
#include <cvgate/http/response.hpp>
#include <cvgate/ids/trace_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cvgate::http {

// The defaults of ServerOptions, named once (the application's option table shows them).
inline constexpr std::string_view default_address = "0.0.0.0";
inline constexpr std::uint16_t default_port = 8080;
inline constexpr std::size_t default_header_limit = 16 * 1024;
inline constexpr std::uint64_t default_max_body_size = 110ull << 20;
inline constexpr std::size_t default_max_connections = 10'000;
inline constexpr std::chrono::seconds default_header_timeout{10};
inline constexpr std::chrono::seconds default_body_timeout{30};
inline constexpr std::chrono::seconds default_idle_timeout{60};
inline constexpr std::chrono::seconds default_write_timeout{30};

struct ServerLimits {
    std::size_t header_limit = default_header_limit;                   // request line + headers: else 431
    std::uint64_t max_body_size = default_max_body_size;               // else 413 (Content-Length or chunked)
    std::size_t max_connections = default_max_connections;             // beyond: 503 and close
    std::chrono::milliseconds header_timeout{default_header_timeout};  // whole head, from its first byte
    std::chrono::milliseconds body_timeout{default_body_timeout};      // inactivity while reading a body
    std::chrono::milliseconds idle_timeout{default_idle_timeout};      // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{default_write_timeout};    // inactivity while writing a response
};

// One line of the access log: what the server knows when a response has been written.
struct AccessRecord {
    Verb method;
    std::string_view target;
    std::string_view route;  // the matched template, or empty
    unsigned status;
    std::uint64_t body_bytes_in;
    std::uint64_t body_bytes_out;
    std::chrono::microseconds duration;
    std::string_view correlation_id;
    const ids::TraceContext& trace;  // empty when not traced
};

struct ServerOptions {
    std::string address{default_address};
    std::uint16_t port = default_port;  // 0 picks a free port (see Server::port())
    std::size_t io_threads = 1;
    ServerLimits limits;
    std::function<void(const AccessRecord&)> on_access;
    // The id a request is answered and logged under (an application's correlation id, say),
    // taken from its head or made up, written over `id` (a connection's, reused request after
    // request). Called once per request, early refusals included; without it requests have
    // no id.
    std::function<void(const RequestHead&, std::string& id)> request_id;
    // The span the server opens for a request (W3C Trace Context: the caller's trace, or a new
    // one), from its head. Called once per request, early refusals included; without it
    // requests are not traced (an empty context).
    std::function<ids::TraceContext(const RequestHead&)> trace_context;
    // What every answer carries, early refusals (400, 413, 431, 501, 503 busy) included, beside
    // Date, Content-Length and `Connection: close`, which the server sets itself: the Server
    // header ("" for none), the request's id under `request_id_header` ("" for none), and the
    // request's `traceparent` when it is traced. A handler cannot override these.
    std::string server_header;
    std::string request_id_header;
    // Last touch on every response, early refusals included: the application's further
    // headers (CORS, say). `head` is what was read of the request; its fields are missing when
    // the head itself was refused.
    std::function<void(const RequestHead& head, std::string_view request_id, const ids::TraceContext& trace,
                       Response&)>
        on_response;
    // A handler threw something that is not an HttpError (the client gets a bare 500).
    std::function<void(const Request&, std::string_view what)> on_error;
};

}  // namespace cvgate::http
