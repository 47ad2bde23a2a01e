#pragma once
// The server's connection stream (not a public header): a TCP socket whose reads and writes
// end at a deadline, as beast::tcp_stream's do, for a fraction of the cost per operation.
//
// beast::tcp_stream starts a timer wait with every read and write and cancels it when the
// operation completes: a timer queue insertion and removal, executor copies and a composed
// operation per call, which were a tenth of the user-space cost of a small request. Here one
// lazy timer serves the connection: setting a deadline only stores it, and the timer, once
// armed, is left alone while the deadline moves later (a keep-alive connection's deadline
// moves later with every request); it is re-armed only for an earlier one. When it fires, a
// deadline that moved on arms it again; a deadline that passed closes the socket, if an
// operation is pending then. One that passed with none pending (a handler's long wait between
// two reads, say) is enforced on the next operation, unless that one is given a new deadline
// first, as every session operation is.
//
// Operations ended by the deadline complete with beast::error::timeout, like tcp_stream's.
// Everything runs on the socket's executor: one thread (one io_context per I/O thread).

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

namespace cvgate::http {

namespace timed_socket_detail {

using clock = std::chrono::steady_clock;
inline constexpr clock::time_point never = clock::time_point::max();

// A connection's socket and its deadline, shared with the timer's pending wait, which may
// complete after the TimedSocket is gone.
struct State {
    explicit State(boost::asio::ip::tcp::socket s) : socket{std::move(s)}, timer{socket.get_executor()} {}
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    clock::time_point deadline = never;
    clock::time_point armed = never;  // when the pending timer wait ends; never: none pending
    unsigned pending = 0;             // reads and writes under way
    bool timed_out = false;           // the socket was closed by the deadline
};

void arm_if_needed(const std::shared_ptr<State>& state);

// The timer's wait ended: a deadline that moved on arms it again; one that passed closes the
// socket when an operation is under way, else is left for the next operation to meet.
inline void fired(const std::shared_ptr<State>& state) {
    State& s = *state;
    s.armed = never;
    if (s.timed_out || s.deadline == never) return;
    if (s.deadline <= clock::now()) {
        if (s.pending == 0) return;
        s.timed_out = true;
        boost::system::error_code ignored;
        s.socket.close(ignored);  // what is under way completes, with timeout (Completion)
        return;
    }
    arm_if_needed(state);
}

// Arms the timer for the deadline when an operation is under way and no wait ends by then.
inline void arm_if_needed(const std::shared_ptr<State>& state) {
    State& s = *state;
    if (s.timed_out || s.pending == 0 || s.deadline == never || s.deadline >= s.armed) return;
    s.armed = s.deadline;
    s.timer.expires_at(s.deadline);  // an earlier wait, if any, completes aborted: a no-op
    s.timer.async_wait([state](boost::system::error_code ec) {
        if (!ec) fired(state);
    });
}

// An operation's completion: counts it done, says timeout for what the deadline ended, then
// calls the caller's handler, whose executor, allocator and cancellation slot it carries (the
// associator below). The caller's handler owns the coroutine that owns the TimedSocket, so
// the state outlives it.
template <class Handler>
struct Completion {
    Handler handler;
    State* state;

    void operator()(boost::system::error_code ec, std::size_t n) {
        --state->pending;
        if (ec && state->timed_out) ec = boost::beast::error::timeout;
        std::move(handler)(ec, n);
    }
};

}  // namespace timed_socket_detail

class TimedSocket {
    using State = timed_socket_detail::State;

public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;

    explicit TimedSocket(boost::asio::ip::tcp::socket socket)
        : state_{std::make_shared<State>(std::move(socket))} {}
    ~TimedSocket() {
        if (!state_) return;
        boost::system::error_code ignored;
        state_->socket.close(ignored);
        state_->timer.cancel();  // its wait, if pending, ends and lets the state go
    }
    TimedSocket(TimedSocket&&) noexcept = default;
    TimedSocket& operator=(TimedSocket&&) = delete;

    executor_type get_executor() noexcept { return state_->socket.get_executor(); }
    boost::asio::ip::tcp::socket& socket() noexcept { return state_->socket; }
    const boost::asio::ip::tcp::socket& socket() const noexcept { return state_->socket; }

    // The deadline of the operations under way and of those to come, until set again.
    void expires_after(std::chrono::steady_clock::duration d) {
        state_->deadline = std::chrono::steady_clock::now() + d;
        timed_socket_detail::arm_if_needed(state_);
    }
    void expires_never() noexcept { state_->deadline = timed_socket_detail::never; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                using Handler = decltype(handler);
                begin().async_read_some(
                    b, timed_socket_detail::Completion<Handler>{std::move(handler), state_.get()});
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                using Handler = decltype(handler);
                begin().async_write_some(
                    b, timed_socket_detail::Completion<Handler>{std::move(handler), state_.get()});
            },
            token, buffers);
    }

private:
    boost::asio::ip::tcp::socket& begin() {
        ++state_->pending;
        timed_socket_detail::arm_if_needed(state_);
        return state_->socket;
    }

    std::shared_ptr<State> state_;
};

}  // namespace cvgate::http

namespace boost::asio {

template <template <typename, typename> class Associator, typename Handler, typename DefaultCandidate>
struct associator<Associator, cvgate::http::timed_socket_detail::Completion<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const cvgate::http::timed_socket_detail::Completion<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const cvgate::http::timed_socket_detail::Completion<Handler>& h,
                    const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

}  // namespace boost::asio
