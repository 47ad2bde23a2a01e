#pragma once
// A request's body as its handler pulls it (BodySource), read straight off the connection:
// generic over the stream as the session that owns it (session_impl.hpp). Not a public header.

#include <cvgate/http/error.hpp>
#include <cvgate/http/request.hpp>
#include <cvgate/http/request_parser.hpp>
#include <cvgate/http/server.hpp>
#include <cvgate/http/stream_control.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <string_view>

namespace cvgate::http::session_detail {

// Bytes waiting are read in pieces this large; a slow or stalled client is waited for with
// the small ones, so that a stalled upload holds little memory.
inline constexpr std::size_t body_chunk_size = 64 * 1024;
inline constexpr std::size_t first_read_size = 4096;
// After an answer given before the body was read (a 4xx, say), up to this much of the
// rest is read and dropped to keep the connection; beyond, the connection is closed.
inline constexpr std::uint64_t drain_limit = 256 * 1024;

template <SessionStream Stream>
class RequestBody final : public BodySource {
    using Control = StreamControl<Stream>;

public:
    // The connection's stream and read buffer, shared with its session.
    RequestBody(Stream& stream, boost::beast::flat_buffer& buffer, const ServerLimits& limits)
        : stream_{stream}, buffer_{buffer}, limits_{limits} {}

    // The next request's body, read by `parser` once its head has been.
    void start(RequestParser& parser) noexcept {
        parser_ = &parser;
        bytes_in_ = 0;
        expect_continue_ = continue_sent_ = false;
    }
    // The client sent `Expect: 100-continue`: it sends the body once told to go on, which the
    // first read does.
    void client_awaits_continue() noexcept { expect_continue_ = true; }
    // Body bytes received so far.
    std::uint64_t bytes_in() const noexcept { return bytes_in_; }

    // Reads and drops what the handler left of the body, so the connection can carry the next
    // request. False when the connection must close instead.
    boost::asio::awaitable<bool> finish();

    // BodySource
    boost::asio::awaitable<std::string_view> read_some() override;
    bool done() const noexcept override { return parser_->is_done(); }
    bool at_hand() const noexcept override {
        return parser_->is_done() || buffer_.size() > 0 || Control::available(stream_) > 0;
    }

private:
    Stream& stream_;
    boost::beast::flat_buffer& buffer_;
    const ServerLimits& limits_;
    RequestParser* parser_ = nullptr;
    std::unique_ptr<char[]> chunk_;
    std::size_t chunk_size_ = 0;
    bool expect_continue_ = false;
    bool continue_sent_ = false;
    std::uint64_t bytes_in_ = 0;
};

template <SessionStream Stream>
boost::asio::awaitable<std::string_view> RequestBody<Stream>::read_some() {
    namespace asio = boost::asio;
    namespace bhttp = boost::beast::http;
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    auto& parser = *parser_;
    if (parser.is_done()) {
        // The body was read whole: an idle keep-alive connection keeps no body buffers.
        chunk_.reset();
        chunk_size_ = 0;
        if (buffer_.size() == 0) buffer_.shrink_to_fit();
        co_return std::string_view{};
    }
    if (expect_continue_ && !continue_sent_) {
        continue_sent_ = true;
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
        Control::expires_after(stream_, limits_.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(stream_, go_on, use_tuple);
        if (ec) throw ConnectionAborted{"client went away"};
    }
    for (;;) {
        // Bytes waiting: read them in large pieces (the head's 4 KiB buffer would cost a
        // system call and a trip through the reactor per 4 KiB). None: the client is slow
        // or stalled; wait with small buffers, so that a stalled upload holds little memory.
        const std::size_t size = at_hand() ? body_chunk_size : first_read_size;
        if (size == body_chunk_size)
            buffer_.reserve(body_chunk_size);
        else if (buffer_.size() == 0)
            buffer_.shrink_to_fit();
        if (chunk_size_ != size) {
            chunk_ = std::make_unique_for_overwrite<char[]>(size);
            chunk_size_ = size;
        }
        auto& body = parser.get().body();
        body.data = chunk_.get();
        body.size = size;
        Control::expires_after(stream_, limits_.body_timeout);  // inactivity, not total
        auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser, use_tuple);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec == bhttp::error::body_limit)
            throw HttpError{Status::payload_too_large, "Request body too large"};
        if (ec == bhttp::error::buffer_overflow || ec == bhttp::error::header_limit)
            throw HttpError{Status::bad_request, "Chunk line or trailer section too large"};
        if (ec && is_disconnect(ec)) throw ConnectionAborted{"body not received"};
        if (ec) throw HttpError{Status::bad_request, "Malformed request body: " + ec.message()};
        const std::size_t got = size - parser.get().body().size;
        bytes_in_ += got;
        if (got > 0) co_return std::string_view{chunk_.get(), got};
        if (parser.is_done()) co_return std::string_view{};
    }
}

template <SessionStream Stream>
boost::asio::awaitable<bool> RequestBody<Stream>::finish() {
    if (parser_->is_done()) co_return true;
    if (expect_continue_ && !continue_sent_) co_return false;  // the client holds the body back
    const std::uint64_t stop_at = bytes_in_ + drain_limit;
    try {
        while (!parser_->is_done()) {
            co_await read_some();
            if (bytes_in_ > stop_at) co_return false;
        }
    } catch (const std::exception&) {
        co_return false;
    }
    co_return true;
}

}  // namespace cvgate::http::session_detail
