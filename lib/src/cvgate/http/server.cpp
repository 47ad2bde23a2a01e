#include <cvgate/http/server.hpp>

#include <cvgate/http/error.hpp>
#include <cvgate/http/session.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <optional>
#include <system_error>
#include <thread>

namespace cvgate::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void throw_in_use(const tcp::endpoint& at, std::string_view why) {
    std::string where = at.address().to_string() + ":" + std::to_string(at.port());
    throw std::system_error{std::make_error_code(std::errc::address_in_use),
                            "cannot listen on " + where + ": " + std::string{why}};
}

// Fails when anything listens on (an address overlapping) `at`: a plain bind, without
// SO_REUSEPORT, is refused then. SO_REUSEADDR keeps a restart from tripping over the
// previous process's TIME_WAIT connections.
void check_nobody_listens(const tcp::endpoint& at) {
    asio::io_context ioc;
    tcp::acceptor probe{ioc};
    probe.open(at.protocol());
    probe.set_option(asio::socket_base::reuse_address(true));
    boost::system::error_code ec;
    probe.bind(at, ec);
    if (ec == asio::error::address_in_use) throw_in_use(at, "address already in use");
    if (ec) throw std::system_error{ec, "cannot listen on " + at.address().to_string()};
}

}  // namespace

// The per-thread listeners share their port through SO_REUSEPORT, which any other process of
// the same user could join — the kernel would then split connections between the two. So a
// server also holds an abstract Unix socket named after its address: the kernel gives such
// a name to one socket at a time in a network namespace (a pod's, a host's) and frees it
// when its process dies, so a second cvgate on the same address fails at start.
class Server::PortLock {
public:
    explicit PortLock(const tcp::endpoint& at) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::system_error{errno, std::generic_category(), "socket(AF_UNIX)"};
        const std::string name =
            "cvgate-listen:" + at.address().to_string() + ":" + std::to_string(at.port());
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const std::size_t n = std::min(name.size(), sizeof addr.sun_path - 1);
        std::copy_n(name.data(), n, addr.sun_path + 1);  // sun_path[0] == 0: the abstract namespace
        const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
            const int err = errno;
            ::close(fd_);
            if (err == EADDRINUSE) throw_in_use(at, "address already in use by another cvgate");
            throw std::system_error{err, std::generic_category(), "bind(abstract socket)"};
        }
    }
    ~PortLock() { ::close(fd_); }
    PortLock(const PortLock&) = delete;
    PortLock& operator=(const PortLock&) = delete;

private:
    int fd_ = -1;
};

namespace {}  // namespace

struct Server::Worker {
    std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>(1);
    std::optional<tcp::acceptor> acceptor;
    IdleSet idle;
    std::thread thread;

    ~Worker() {
        if (thread.joinable()) {
            ioc->stop();
            thread.join();
        }
        acceptor.reset();
        ioc.reset();  // destroys suspended sessions while `idle` is still alive
    }
};

namespace {

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, IdleSet& idle,
                                  std::shared_ptr<Server::Shared> shared) {
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec) {
            if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
            // Out of descriptors or memory: back off instead of spinning on the error.
            asio::steady_timer pause{ex, std::chrono::milliseconds{50}};
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (shared->connections.load(std::memory_order_relaxed) >= shared->options.limits.max_connections) {
            asio::co_spawn(ex, run_session(std::move(socket), idle, shared, Admission::refuse_busy),
                           asio::detached);
            continue;
        }
        asio::co_spawn(ex, run_session(std::move(socket), idle, shared), asio::detached);
    }
}

}  // namespace

Server::Server(ServerOptions options, const Router& router)
    : shared_{std::make_shared<Shared>(std::move(options), router)} {
    const auto& opts = shared_->options;
    const tcp::endpoint endpoint{asio::ip::make_address(opts.address), opts.port};
    const std::size_t threads = std::max<std::size_t>(opts.io_threads, 1);
    if (opts.port != 0) {
        port_lock_ = std::make_unique<PortLock>(endpoint);
        check_nobody_listens(endpoint);
    }
    std::uint16_t bound_port = opts.port;
    for (std::size_t i = 0; i < threads; ++i) {
        auto worker = std::make_unique<Worker>();
        auto& acceptor = worker->acceptor.emplace(*worker->ioc);
        const tcp::endpoint at{endpoint.address(), bound_port};
        acceptor.open(at.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.set_option(reuse_port(true));
        boost::system::error_code ec;
        acceptor.bind(at, ec);
        if (ec == asio::error::address_in_use) throw_in_use(at, "address already in use");
        if (ec) throw std::system_error{ec, "cannot listen on " + at.address().to_string()};
        acceptor.listen(asio::socket_base::max_listen_connections);
        bound_port = acceptor.local_endpoint().port();  // the others share the port picked first
        workers_.push_back(std::move(worker));
    }
    shared_->port = bound_port;
    if (!port_lock_) port_lock_ = std::make_unique<PortLock>(tcp::endpoint{endpoint.address(), bound_port});
}

Server::~Server() {
    if (started_ && !stopped_) shutdown(std::chrono::milliseconds{0});
}

std::uint16_t Server::port() const noexcept { return shared_->port; }
bool Server::draining() const noexcept { return shared_->draining.load(); }
std::size_t Server::connections() const noexcept { return shared_->connections.load(); }
std::size_t Server::requests_in_flight() const noexcept { return shared_->in_flight.load(); }

void Server::start() {
    if (started_) return;
    started_ = true;
    for (auto& worker : workers_) {
        asio::co_spawn(*worker->ioc, accept_loop(*worker->acceptor, worker->idle, shared_), asio::detached);
        worker->thread = std::thread{[ioc = worker->ioc.get()] { ioc->run(); }};
    }
}

void Server::shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds drain) {
    if (stopped_) return;
    stopped_ = true;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + grace;
    const auto drain_end = start + std::min(drain, grace);
    auto wait_until = [this](std::chrono::steady_clock::time_point until) {
        while (shared_->connections.load() > 0 && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
    };
    // From here on every answer says `Connection: close`, and a connection that has been
    // answered closes instead of waiting for its next request.
    shared_->draining.store(true);
    for (auto& worker : workers_) {
        asio::post(*worker->ioc, [w = worker.get()] {
            boost::system::error_code ignored;
            if (w->acceptor) w->acceptor->close(ignored);
        });
    }
    // The drain: a peer (a load balancer's keep-alive pool, say) may pick an idle connection
    // at any moment, and closing it under a request that is on its way loses that request —
    // a POST that a proxy must not retry. So idle connections stay open for a while; each one
    // the peer uses is served and closed by us after its answer, which no peer misreads.
    wait_until(drain_end);
    // Whatever is still idle now was left unused for the whole drain. Closing it can still
    // meet a request on the wire; no server can avoid that (a FIN does not make the request
    // answerable: a half-closed connection cannot carry the answer). What does avoid it is a
    // peer whose own idle timeout is shorter than the drain: it closes such connections first
    // (deploy/nginx sets `keepalive_timeout` below DRAIN_SECONDS). A connection whose first
    // bytes have arrived is no longer idle: it is served, whatever the clock says.
    for (auto& worker : workers_) asio::post(*worker->ioc, [w = worker.get()] { w->idle.close_all(); });
    wait_until(deadline);
    for (auto& worker : workers_) worker->ioc->stop();
    for (auto& worker : workers_)
        if (worker->thread.joinable()) worker->thread.join();
}

}  // namespace cvgate::http
