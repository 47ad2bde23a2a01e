#pragma once
// The HTTP/1.1 server: one io_context per I/O thread, each with its own SO_REUSEPORT
// listener, so a connection lives on one thread and never needs a strand; keep-alive,
// pipelining, limits and timeouts against hostile clients (server_options.hpp), graceful
// shutdown. The HTTP toolkit's public face is this, router.hpp, request.hpp, response.hpp,
// error.hpp, form.hpp and multipart.hpp; a connection's machinery (session_impl.hpp: head,
// body, framing, early refusals) is internal, in lib/src/cvgate/http/.

#include <cvgate/http/router.hpp>
#include <cvgate/http/server_options.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cvgate::http {

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
