#include "http/server_support.hpp"

#include <cvgate/api/response_headers.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <stdexcept>

namespace cvgate::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

TestServer::TestServer(const http::Router& router, http::ServerOptions options) {
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<http::Server>(std::move(options), router);
    server_->start();
}

TestServer::~TestServer() { server_->shutdown(std::chrono::milliseconds{200}); }

http::ServerOptions TestServer::defaults() {
    http::ServerOptions o;
    o.io_threads = 2;
    o.limits.max_body_size = 1 << 20;
    o.limits.header_timeout = std::chrono::milliseconds{800};
    o.limits.body_timeout = std::chrono::milliseconds{800};
    o.limits.idle_timeout = std::chrono::milliseconds{1500};
    o.limits.write_timeout = std::chrono::milliseconds{2000};
    api::use_cvgate_headers(o, nullptr);
    return o;
}

Client::Client(std::uint16_t port, std::chrono::milliseconds read_timeout) : socket_{ioc_} {
    socket_.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(read_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((read_timeout.count() % 1000) * 1000);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

void Client::send(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }

Reply Client::read_reply(bool head_request) {
    boost::beast::flat_buffer buffer;
    if (!pending_.empty()) {
        auto dst = buffer.prepare(pending_.size());
        std::memcpy(dst.data(), pending_.data(), pending_.size());
        buffer.commit(pending_.size());
        pending_.clear();
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    parser.skip(head_request);
    bhttp::read(socket_, buffer, parser);
    // Keep what belongs to the next response.
    auto rest = buffer.data();
    pending_.assign(static_cast<const char*>(rest.data()), rest.size());
    return parser.release();
}

std::string Client::read_head_raw() {
    std::string out = std::move(pending_);
    pending_.clear();
    char c;
    while (out.find("\r\n\r\n") == std::string::npos) {
        asio::read(socket_, asio::buffer(&c, 1));
        out.push_back(c);
    }
    auto end = out.find("\r\n\r\n") + 4;
    pending_ = out.substr(end);
    return out.substr(0, end);
}

std::string Client::read_bytes(std::size_t n) {
    std::string out = std::move(pending_);
    pending_.clear();
    if (out.size() < n) {
        const std::size_t have = out.size();
        out.resize(n);
        asio::read(socket_, asio::buffer(out.data() + have, n - have));
    }
    pending_ = out.substr(n);
    out.resize(n);
    return out;
}

std::string Client::read_until_closed(std::chrono::milliseconds limit) {
    std::string out = std::move(pending_);
    pending_.clear();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        std::size_t n = socket_.read_some(asio::buffer(buf), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec) break;
        out.append(buf, n);
    }
    return out;
}

std::optional<std::chrono::milliseconds> Client::wait_closed(std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + limit;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        socket_.read_some(asio::buffer(buf), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec)
            return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                         start);
    }
    return std::nullopt;
}

bool Client::is_open() const { return socket_.is_open(); }

std::string detail_of(const Reply& reply) {
    return std::string{boost::json::parse(reply.body()).at("detail").as_string()};
}

std::string get_request(std::string_view path, std::string_view extra_headers) {
    std::string r = "GET ";
    r += path;
    r += " HTTP/1.1\r\nHost: test\r\n";
    r += extra_headers;
    r += "\r\n";
    return r;
}

}  // namespace cvgate::test
