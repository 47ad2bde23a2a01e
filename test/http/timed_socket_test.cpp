// TimedSocket, the server's connection stream, over a real loopback connection: its deadline
// ends a read or a write that waits too long, with beast::error::timeout, and nothing else.

#include <cvgate/http/timed_socket.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using cvgate::http::TimedSocket;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using clock_type = std::chrono::steady_clock;

// A connected pair on loopback: the server's end as a TimedSocket, the peer's as a plain socket.
struct Pair {
    asio::io_context ioc;
    tcp::socket peer{ioc};
    std::optional<TimedSocket> timed;

    Pair() {
        tcp::acceptor acceptor{ioc, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
        peer.connect(acceptor.local_endpoint());
        timed.emplace(acceptor.accept());
    }

    // Runs `body` as a coroutine to its end.
    void run(std::function<asio::awaitable<void>()> body) {
        bool done = false;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                co_await body();
                done = true;
            },
            asio::detached);
        ioc.run();
        REQUIRE(done);
    }

    asio::awaitable<void> sleep(clock_type::duration d) {
        asio::steady_timer t{ioc, d};
        co_await t.async_wait(asio::use_awaitable);
    }
};

}  // namespace

TEST_CASE("a read that waits past its deadline ends with timeout", "[http][timed_socket]") {
    Pair p;
    p.run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buf{};
        const auto start = clock_type::now();
        p.timed->expires_after(100ms);
        auto [ec, n] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(ec == boost::beast::error::timeout);
        CHECK(n == 0);
        CHECK(clock_type::now() - start >= 100ms);
        // The socket is closed: what comes next ends at once, with timeout too.
        auto [again, m] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(again == boost::beast::error::timeout);
    });
}

TEST_CASE("a deadline moved later lets the read go on; moved earlier, it ends sooner",
          "[http][timed_socket]") {
    Pair p;
    p.run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buf{};
        // Later: the timer armed for 50 ms finds the deadline moved and waits on.
        p.timed->expires_after(50ms);
        asio::steady_timer writer{p.ioc, 200ms};
        writer.async_wait([&](boost::system::error_code) { asio::write(p.peer, asio::buffer("hi", 2)); });
        p.timed->expires_after(2s);
        auto [ec, n] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(!ec);
        CHECK(std::string(buf.data(), n) == "hi");

        // Earlier: a read under a 10 s deadline, cut to 100 ms while it waits.
        const auto start = clock_type::now();
        p.timed->expires_after(10s);
        asio::steady_timer shorten{p.ioc, 20ms};
        shorten.async_wait([&](boost::system::error_code) { p.timed->expires_after(80ms); });
        auto [ec2, n2] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(ec2 == boost::beast::error::timeout);
        CHECK(clock_type::now() - start < 5s);
    });
}

TEST_CASE("a deadline that passes while nothing waits does not close the socket", "[http][timed_socket]") {
    Pair p;
    p.run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buf{};
        p.timed->expires_after(30ms);
        asio::write(p.peer, asio::buffer("a", 1));
        auto [ec, n] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        REQUIRE(!ec);
        // A handler's long wait between two reads, past the deadline: the timer armed for the
        // read fires meanwhile, with nothing under way.
        co_await p.sleep(150ms);
        p.timed->expires_after(1s);  // as the session does before every read
        asio::write(p.peer, asio::buffer("b", 1));
        auto [ec2, n2] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(!ec2);
        CHECK(n2 == 1);

        // Without a new deadline, the next read meets the one that passed.
        p.timed->expires_after(30ms);
        co_await p.sleep(100ms);
        auto [ec3, n3] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(ec3 == boost::beast::error::timeout);
    });
}

TEST_CASE("a write to a peer that does not read ends with timeout", "[http][timed_socket]") {
    Pair p;
    p.run([&]() -> asio::awaitable<void> {
        const std::string big(64 << 20, 'x');  // far beyond both sockets' buffers
        p.timed->expires_after(200ms);
        auto [ec, n] = co_await asio::async_write(*p.timed, asio::buffer(big), use_tuple);
        CHECK(ec == boost::beast::error::timeout);
        CHECK(n < big.size());
    });
}

TEST_CASE("expires_never lifts the deadline; a socket dropped with its timer armed is let go",
          "[http][timed_socket]") {
    Pair p;
    const auto start = clock_type::now();
    p.run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buf{};
        p.timed->expires_after(50ms);
        p.timed->expires_never();
        asio::steady_timer writer{p.ioc, 200ms};
        writer.async_wait([&](boost::system::error_code) { asio::write(p.peer, asio::buffer("z", 1)); });
        auto [ec, n] = co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);
        CHECK(!ec);
        CHECK(n == 1);

        p.timed->expires_after(10s);
        asio::write(p.peer, asio::buffer("y", 1));
        co_await p.timed->async_read_some(asio::buffer(buf), use_tuple);  // arms the 10 s timer
        p.timed.reset();  // its wait ends now (the run finishes without waiting 10 s)
        std::array<char, 4> peer_buf{};
        boost::system::error_code peer_ec;
        p.peer.read_some(asio::buffer(peer_buf), peer_ec);
        CHECK(peer_ec == asio::error::eof);  // the socket was closed
    });
    CHECK(clock_type::now() - start < 5s);  // the dropped socket's 10 s wait did not hold the run
}
