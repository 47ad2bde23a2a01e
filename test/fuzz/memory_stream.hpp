#pragma once
// An in-memory connection for driving a session (cvgate/http/session_impl.hpp) without
// sockets: the test plays the client on a MemoryWire, the session gets its MemoryStream end.
// Single-threaded, no system calls, nothing timed: an input costs microseconds, not the
// milliseconds of a socket pair with its epoll round trips.
//
// It keeps the socket semantics the session relies on: a read returns what has arrived
// (at least one byte) or waits for it; after the client's half-close it returns what is left,
// then end of file; the session's half-close (shutdown_send) leaves its reading side open;
// writes after it fail; a pending read can be cancelled (IdleSet, per-operation
// cancellation). Completions are posted, never run inside the initiating call. The write that
// never waits (StreamControl::try_write) takes by turns all, nothing or a part, so that the
// session's ways on after a full socket buffer and after a partial write are driven too.

#include "cvgate/http/session_impl.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace cvgate::test {

// Both directions of one connection. The client's side is its public face; the session's
// side is reached through MemoryStream.
class MemoryWire {
public:
    using executor_type = boost::asio::io_context::executor_type;

    explicit MemoryWire(executor_type ex) : ex_{std::move(ex)} {}
    MemoryWire(const MemoryWire&) = delete;
    MemoryWire& operator=(const MemoryWire&) = delete;

    // The client sends bytes (false once the session's end is gone: nobody reads them).
    bool send(std::string_view bytes) {
        if (server_gone_ || client_done_) return false;
        if (read_ == in_.size()) in_.clear(), read_ = 0;
        in_.append(bytes);
        complete_pending_read();
        return true;
    }
    // The client half-closes: the session reads what is left, then end of file.
    void finish_sending() {
        client_done_ = true;
        complete_pending_read();
    }
    // What the session wrote so far.
    const std::string& received() const noexcept { return out_; }
    bool server_gone() const noexcept { return server_gone_; }
    bool server_sent_eof() const noexcept { return send_closed_; }
    bool read_pending() const noexcept { return static_cast<bool>(reader_); }

private:
    friend class MemoryStream;
    using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

    std::size_t available() const noexcept { return read_closed_ ? 0 : in_.size() - read_; }

    template <class Buffers>
    void start_read(Handler handler, const Buffers& buffers) {
        if (reader_) {  // a socket would allow it, but no session ever does it: a bug
            post(std::move(handler), boost::asio::error::already_started, 0);
            return;
        }
        // Like read_some on a socket, this fills at least one byte of the sequence; here
        // only its first non-empty buffer.
        boost::asio::mutable_buffer into;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            if (boost::asio::mutable_buffer b{*it}; b.size() > 0) {
                into = b;
                break;
            }
        }
        if (into.size() == 0) {
            post(std::move(handler), {}, 0);
            return;
        }
        reader_.swap(handler);  // not `=`: Boost 1.81's move assignment copies `other` as an
                                // lvalue, which the converting constructor wraps without end
        into_ = into;
        if (auto slot = reader_.get_cancellation_slot(); slot.is_connected())
            slot.assign([this](boost::asio::cancellation_type) { cancel_read(); });
        complete_pending_read();
    }

    template <class Buffers>
    void start_write(Handler handler, const Buffers& buffers) {
        if (send_closed_) {
            post(std::move(handler), boost::asio::error::broken_pipe, 0);
            return;
        }
        const std::size_t before = out_.size();
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            const boost::asio::const_buffer b{*it};
            out_.append(static_cast<const char*>(b.data()), b.size());
        }
        post(std::move(handler), {}, out_.size() - before);
    }

    // A waiting read completes when bytes arrive, at end of file, or when cancelled.
    void complete_pending_read() {
        if (!reader_) return;
        if (available() > 0) {
            const std::size_t n = std::min(available(), into_.size());
            std::memcpy(into_.data(), in_.data() + read_, n);
            read_ += n;
            post(std::move(reader_), {}, n);
        } else if (client_done_ || read_closed_) {
            post(std::move(reader_), boost::asio::error::eof, 0);
        }
    }
    void cancel_read() {
        if (reader_) post(std::move(reader_), boost::asio::error::operation_aborted, 0);
    }

    template <class Buffers>
    std::size_t try_write(const Buffers& buffers, boost::system::error_code& ec) {
        ec = {};
        if (send_closed_) {
            ec = boost::asio::error::broken_pipe;
            return 0;
        }
        // In turn: all of it, nothing (a full socket buffer), a part.
        const std::size_t turn = tried_writes_++ % 3;
        if (turn == 1) {
            ec = boost::asio::error::would_block;
            return 0;
        }
        const std::size_t limit = turn == 0 ? ~std::size_t{0} : std::size_t{37};
        const std::size_t before = out_.size();
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers) && out_.size() - before < limit; ++it) {
            const boost::asio::const_buffer b{*it};
            out_.append(static_cast<const char*>(b.data()),
                        std::min(b.size(), limit - (out_.size() - before)));
        }
        return out_.size() - before;
    }

    void post(Handler handler, boost::system::error_code ec, std::size_t n) {
        boost::asio::post(ex_,
                          [handler = std::move(handler), ec, n]() mutable { std::move(handler)(ec, n); });
    }

    executor_type ex_;
    std::string in_;  // client -> session; in_[read_, size) not read yet
    std::size_t read_ = 0;
    std::string out_;  // session -> client
    bool client_done_ = false;
    bool send_closed_ = false;  // the session half-closed
    bool read_closed_ = false;  // the session shut down both directions
    bool server_gone_ = false;  // its stream was destroyed (the socket closed)
    std::size_t tried_writes_ = 0;
    Handler reader_;
    boost::asio::mutable_buffer into_;
};

// The session's end of a MemoryWire. The wire must outlive it.
class MemoryStream {
public:
    using executor_type = MemoryWire::executor_type;

    explicit MemoryStream(MemoryWire& wire) noexcept : wire_{&wire} {}
    MemoryStream(MemoryStream&& other) noexcept : wire_{std::exchange(other.wire_, nullptr)} {}
    MemoryStream& operator=(MemoryStream&&) = delete;
    ~MemoryStream() {
        if (!wire_) return;
        wire_->server_gone_ = wire_->send_closed_ = wire_->read_closed_ = true;
        wire_->cancel_read();
    }

    executor_type get_executor() const noexcept { return wire_->ex_; }

    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [wire = wire_](auto handler, const MutableBufferSequence& b) {
                wire->start_read(std::move(handler), b);
            },
            token, buffers);
    }
    template <class ConstBufferSequence, class Token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [wire = wire_](auto handler, const ConstBufferSequence& b) {
                wire->start_write(std::move(handler), b);
            },
            token, buffers);
    }

    // What StreamControl asks of a socket.
    std::size_t available() const noexcept { return wire_->available(); }
    void shutdown_send() noexcept { wire_->send_closed_ = true; }
    void shutdown_both() noexcept {
        wire_->send_closed_ = wire_->read_closed_ = true;
        wire_->complete_pending_read();
    }
    void cancel() noexcept { wire_->cancel_read(); }
    template <class Buffers>
    std::size_t try_write(const Buffers& buffers, boost::system::error_code& ec) {
        return wire_->try_write(buffers, ec);
    }

private:
    MemoryWire* wire_;
};

}  // namespace cvgate::test

namespace cvgate::http {

// Nothing is timed: a test ends every connection with its client's half-close.
template <>
struct StreamControl<test::MemoryStream> {
    using Stream = test::MemoryStream;
    static void expires_after(Stream&, std::chrono::steady_clock::duration) noexcept {}
    static void expires_never(Stream&) noexcept {}
    static std::size_t available(const Stream& s) noexcept { return s.available(); }
    static void shutdown_send(Stream& s) noexcept { s.shutdown_send(); }
    static void shutdown_both(Stream& s) noexcept { s.shutdown_both(); }
    static void cancel(Stream& s) noexcept { s.cancel(); }
    static std::size_t try_write(Stream& s, const std::array<boost::asio::const_buffer, 2>& out,
                                 boost::system::error_code& ec) {
        return s.try_write(out, ec);
    }
};

}  // namespace cvgate::http
