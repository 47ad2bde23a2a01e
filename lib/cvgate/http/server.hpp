#pragma once
// The HTTP/1.1 server: one io_context per I/O thread, each with its own SO_REUSEPORT
// listener, so a connection lives on one thread and never needs a strand; keep-alive,
// pipelining, limits and timeouts against hostile clients, graceful shutdown.

#include <cvgate/http/request.hpp>
#include <cvgate/http/response.hpp>
#include <cvgate/http/router.hpp>
#include <cvgate/ids/trace_context.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::http {

struct ServerLimits {
    std::size_t header_limit = 16 * 1024;              // request line + headers: else 431
    std::uint64_t max_body_size = 110ull << 20;        // else 413 (Content-Length or chunked)
    std::size_t max_connections = 10'000;              // beyond: 503 and close
    std::chrono::milliseconds header_timeout{10'000};  // whole head, from its first byte
    std::chrono::milliseconds body_timeout{30'000};    // inactivity while reading a body
    std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{30'000};   // inactivity while writing a response
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
    std::string address = "0.0.0.0";
    std::uint16_t port = 8080;  // 0 picks a free port (see Server::port())
    std::size_t io_threads = 1;
    ServerLimits limits;
    std::function<void(const AccessRecord&)> on_access;
    // The id a request is answered and logged under (an application's correlation id, say),
    // taken from its head or made up. Called once per request, early refusals included;
    // without it requests have no id.
    std::function<std::string(const RequestHead&)> request_id;
    // The span the server opens for a request (W3C Trace Context: the caller's trace, or a new
    // one), from its head. Called once per request, early refusals included; without it
    // requests are not traced (an empty context).
    std::function<ids::TraceContext(const RequestHead&)> trace_context;
    // Last touch on every response, early refusals (400, 413, 431, 501, 503 busy) included:
    // the application's headers (Server, the request id, the trace, CORS). `head` is what was
    // read of the request; its fields are missing when the head itself was refused. The
    // server sets Date, Content-Length and Connection.
    std::function<void(const RequestHead& head, std::string_view request_id, const ids::TraceContext& trace,
                       Response&)>
        on_response;
    // A handler threw something that is not an HttpError (the client gets a bare 500).
    std::function<void(const Request&, std::string_view what)> on_error;
};

class Server {
public:
    // Binds the listeners; throws std::system_error when the address cannot be bound.
    Server(ServerOptions options, const Router& router);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server();

    std::uint16_t port() const noexcept;

    // Starts the I/O threads; returns at once.
    void start();
    // Graceful shutdown: stop accepting at once; for `drain`, keep the idle keep-alive
    // connections open and serve what arrives on them (every answer from now on says
    // `Connection: close`); then close the connections still idle; let in-flight requests
    // finish, and after `grace` (counted from the call, the drain included) cut whatever is
    // left. Blocks until every I/O thread has exited. Call from a non-I/O thread.
    void shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds drain = {});
    bool draining() const noexcept;
    std::size_t connections() const noexcept;
    std::size_t requests_in_flight() const noexcept;

    struct Shared;  // state the sessions see
    struct Worker;

private:
    class PortLock;
    std::unique_ptr<PortLock> port_lock_;
    std::shared_ptr<Shared> shared_;
    std::vector<std::unique_ptr<Worker>> workers_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace cvgate::http
