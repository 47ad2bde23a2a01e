#pragma once
// What a connection session needs of its byte stream beyond reading and writing (not a public
// header): a deadline on its next operations (an inactivity timeout that ends the
// connection), the bytes readable at once, a half-close, a full one, cancelling a pending
// read (IdleSet), and a write that never waits: it writes what the socket takes at once and
// says `would_block` when that is nothing, so that an answer the socket's buffer takes whole
// costs no trip through the event loop (session_impl.hpp).
// One specialisation per stream type: TimedSocket's in session.cpp, the fuzz target's
// in-memory stream's in test/fuzz/memory_stream.hpp.

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>

namespace cvgate::http {

template <class Stream>
struct StreamControl;

template <class Stream>
concept SessionStream = boost::beast::is_async_stream<Stream>::value &&
    requires(Stream& s, const Stream& cs, std::chrono::steady_clock::duration d,
             const std::array<boost::asio::const_buffer, 2>& out, boost::system::error_code& ec) {
    { StreamControl<Stream>::try_write(s, out, ec) } -> std::convertible_to<std::size_t>;
    StreamControl<Stream>::expires_after(s, d);
    StreamControl<Stream>::expires_never(s);
    { StreamControl<Stream>::available(cs) } -> std::convertible_to<std::size_t>;
    StreamControl<Stream>::shutdown_send(s);
    StreamControl<Stream>::shutdown_both(s);
    StreamControl<Stream>::cancel(s);
};

namespace session_detail {

// The peer went away (or fell silent past a timeout): nothing to answer.
inline bool is_disconnect(const boost::system::error_code& ec) {
    namespace bhttp = boost::beast::http;
    return ec == bhttp::error::end_of_stream || ec == boost::asio::error::eof ||
           ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe ||
           ec == boost::beast::error::timeout || ec == boost::asio::error::operation_aborted ||
           ec == bhttp::error::partial_message;
}

}  // namespace session_detail

}  // namespace cvgate::http
