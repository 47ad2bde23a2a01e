#include "http_client.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace cvgate::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpClient::HttpClient(asio::any_io_executor ex, ClientOptions options)
    : ex_{std::move(ex)}, options_{std::move(options)} {}

asio::awaitable<std::unique_ptr<HttpClient::Stream>> HttpClient::acquire(bool& reused) {
    reused = false;
    if (!idle_.empty()) {
        auto stream = std::move(idle_.back());
        idle_.pop_back();
        reused = true;
        co_return stream;
    }
    if (open_ < options_.max_connections) {
        ++open_;
    } else {
        Waiter waiter{asio::steady_timer{ex_, asio::steady_timer::time_point::max()}, nullptr, false};
        waiters_.push_back(&waiter);
        boost::system::error_code ec;
        co_await waiter.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::erase(waiters_, &waiter);  // a no-op when release() took it off already
        if (waiter.stream) {
            reused = true;
            co_return std::move(waiter.stream);
        }
        if (!waiter.may_open) throw boost::system::system_error{asio::error::operation_aborted};
    }
    ++opened_;
    auto stream = std::make_unique<Stream>(ex_);
    stream->expires_after(options_.timeout);
    try {
        co_await stream->async_connect(options_.endpoint, asio::use_awaitable);
    } catch (...) {
        release(nullptr);
        throw;
    }
    stream->socket().set_option(asio::ip::tcp::no_delay{true});
    co_return stream;
}

void HttpClient::release(std::unique_ptr<Stream> stream) {
    if (waiters_.empty()) {
        if (stream)
            idle_.push_back(std::move(stream));
        else
            --open_;
        return;
    }
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    if (stream)
        next->stream = std::move(stream);
    else
        next->may_open = true;  // the slot of the closed connection passes on, open_ unchanged
    next->wake.cancel();
}

asio::awaitable<Response> HttpClient::exchange(Stream& stream, http::verb verb, const std::string& target,
                                               const std::string& body, const std::string& content_type,
                                               bool& keep_alive) {
    http::request<http::string_body> req{verb, options_.base_path + target, 11};
    req.set(http::field::host, options_.host);
    req.set(http::field::user_agent, "cvgate-load");
    if (!options_.api_key.empty()) req.set("X-API-Key", options_.api_key);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    stream.expires_after(options_.timeout);
    co_await http::async_write(stream, req, asio::use_awaitable);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    auto& res = parser.get();
    keep_alive = res.keep_alive() && buffer.size() == 0;
    co_return Response{res.result_int(), std::move(res.body())};
}

asio::awaitable<Response> HttpClient::send(http::verb verb, std::string target, std::string body,
                                           std::string content_type) {
    for (int attempt = 0;; ++attempt) {
        bool reused = false;
        auto stream = co_await acquire(reused);
        bool keep_alive = false;
        try {
            Response res = co_await exchange(*stream, verb, target, body, content_type, keep_alive);
            if (keep_alive)
                release(std::move(stream));
            else
                release(nullptr);
            co_return res;
        } catch (const boost::system::system_error& e) {
            release(nullptr);
            // The server may close a keep-alive connection while it sits idle: that race is
            // not an error of the request, which goes again on a fresh connection.
            const bool closed_while_idle = e.code() == http::error::end_of_stream ||
                                           e.code() == asio::error::connection_reset ||
                                           e.code() == asio::error::broken_pipe;
            if (!(reused && closed_while_idle && attempt == 0)) throw;
            ++retries_;
        }
    }
}

}  // namespace cvgate::load
