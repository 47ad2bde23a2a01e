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

#include <optional>
#include <system_error>
#include <thread>

namespace cvgate::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Over the connection cap: a short canned answer, then close, without touching a session.
asio::awaitable<void> refuse_busy(tcp::socket socket) {
    static constexpr std::string_view busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: 46\r\n\r\n"
        "{\"detail\":\"Server busy: too many connections\"}";
    asio::steady_timer deadline{socket.get_executor(), std::chrono::seconds{1}};
    deadline.async_wait([&socket](boost::system::error_code ec) {
        if (!ec) socket.close(ec);
    });
    co_await asio::async_write(socket, asio::buffer(busy), use_tuple);
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    deadline.cancel();
}

}  // namespace

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
            asio::co_spawn(ex, refuse_busy(std::move(socket)), asio::detached);
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
    std::uint16_t bound_port = opts.port;
    for (std::size_t i = 0; i < threads; ++i) {
        auto worker = std::make_unique<Worker>();
        auto& acceptor = worker->acceptor.emplace(*worker->ioc);
        const tcp::endpoint at{endpoint.address(), bound_port};
        acceptor.open(at.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.set_option(reuse_port(true));
        acceptor.bind(at);
        acceptor.listen(asio::socket_base::max_listen_connections);
        bound_port = acceptor.local_endpoint().port();  // the others share the port picked first
        workers_.push_back(std::move(worker));
    }
    shared_->port = bound_port;
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

void Server::shutdown(std::chrono::milliseconds grace) {
    if (stopped_) return;
    stopped_ = true;
    shared_->draining.store(true);
    for (auto& worker : workers_) {
        asio::post(*worker->ioc, [w = worker.get()] {
            boost::system::error_code ignored;
            if (w->acceptor) w->acceptor->close(ignored);
            w->idle.close_all();
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (shared_->connections.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    for (auto& worker : workers_) worker->ioc->stop();
    for (auto& worker : workers_)
        if (worker->thread.joinable()) worker->thread.join();
}

}  // namespace cvgate::http
