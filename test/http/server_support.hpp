#pragma once
// A real cvgate HTTP server on a free loopback port, and a blocking raw-socket client to
// talk to it byte by byte, as hostile or clumsy clients do.

#include <cvgate/http/router.hpp>
#include <cvgate/http/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::test {

class TestServer {
public:
    // `router` must outlive the server. Limits default to short timeouts for fast tests.
    explicit TestServer(const http::Router& router, http::ServerOptions options = defaults());
    ~TestServer();

    static http::ServerOptions defaults();
    std::uint16_t port() const { return server_->port(); }
    http::Server& server() { return *server_; }

private:
    std::unique_ptr<http::Server> server_;
};

using Reply = boost::beast::http::response<boost::beast::http::string_body>;

class Client {
public:
    explicit Client(std::uint16_t port, std::chrono::milliseconds read_timeout = std::chrono::seconds{10});

    void send(std::string_view bytes);
    // One whole response (Beast parser); throws on timeout or a closed connection.
    Reply read_reply(bool head_request = false);
    // Whatever arrives until the peer closes or `limit` passes: the raw text.
    std::string read_until_closed(std::chrono::milliseconds limit);
    // Blocks until the server closes the connection; the time it took, or nullopt if still open at `limit`.
    std::optional<std::chrono::milliseconds> wait_closed(std::chrono::milliseconds limit);
    // Raw bytes up to and including the first "\r\n\r\n" (for interim 100 Continue).
    std::string read_head_raw();
    // Exactly `n` raw bytes (a body after read_head_raw).
    std::string read_bytes(std::size_t n);
    bool is_open() const;

private:
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    std::string pending_;  // bytes read but not yet parsed
};

// The `detail` string of a JSON error answer.
std::string detail_of(const Reply& reply);

// `GET path` with optional extra header lines (each ending in \r\n).
std::string get_request(std::string_view path, std::string_view extra_headers = {});

}  // namespace cvgate::test
