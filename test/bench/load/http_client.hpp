#pragma once
// A keep-alive HTTP/1.1 client for the harness: at most `max_connections` connections to one
// server, shared by every session; a request waits for a free connection (that wait counts
// in its latency, as a browser's would). Single-threaded: use it from one io_context thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace cvgate::load {

struct Response {
    unsigned status = 0;
    std::string body;
};

struct ClientOptions {
    std::string host;       // Host header
    std::string base_path;  // prefixed to every target: "" or e.g. "/api" behind an ingress
    boost::asio::ip::tcp::endpoint endpoint;
    std::size_t max_connections = 64;
    std::chrono::milliseconds timeout{60000};  // a whole exchange, connect included
    std::string api_key;                       // sent as X-API-Key when set
    std::uint64_t max_response_bytes = 64u << 20;
};

class HttpClient {
public:
    HttpClient(boost::asio::any_io_executor ex, ClientOptions options);

    // One exchange. Throws boost::system::system_error when no answer came (connect refused,
    // reset, timeout). A connection the server closed while idle is retried once, fresh.
    boost::asio::awaitable<Response> send(boost::beast::http::verb verb, std::string target,
                                          std::string body = {}, std::string content_type = {});

    std::uint64_t connections_opened() const noexcept { return opened_; }
    std::uint64_t retries() const noexcept { return retries_; }

private:
    using Stream = boost::beast::tcp_stream;

    boost::asio::awaitable<std::unique_ptr<Stream>> acquire(bool& reused);
    void release(std::unique_ptr<Stream> stream);  // nullptr: the connection is gone
    boost::asio::awaitable<Response> exchange(Stream& stream, boost::beast::http::verb verb,
                                              const std::string& target, const std::string& body,
                                              const std::string& content_type, bool& keep_alive);

    boost::asio::any_io_executor ex_;
    ClientOptions options_;
    std::vector<std::unique_ptr<Stream>> idle_;
    std::size_t open_ = 0;
    // A request waiting for a connection: release() hands it one (or the right to open one)
    // in arrival order, so a latecomer never overtakes it.
    struct Waiter {
        boost::asio::steady_timer wake;
        std::unique_ptr<Stream> stream;
        bool may_open = false;
    };
    std::deque<Waiter*> waiters_;
    std::uint64_t opened_ = 0;
    std::uint64_t retries_ = 0;
};

}  // namespace cvgate::load
