#pragma once
// The one way to give up at a deadline: `co_await with_deadline(op, deadline)` runs `op` and a
// timer side by side; when the timer wins, `op` is cancelled through its cancellation slot and
// awaited until it has acknowledged it. It then throws DeadlineExceeded — carrying the
// Settlement of an in-doubt call when `op` reported one (exec/settlement.hpp) — or returns
// what `op` produced if it finished all the same. Every operation awaited under a deadline
// must honour terminal cancellation (Asio's own do; so does exec::offload).

#include <cvgate/exec/deadline.hpp>
#include <cvgate/exec/settlement.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace cvgate::exec {

// A call missed its deadline. settlement() is null when it never started (nothing happened),
// set when it may still take effect.
class DeadlineExceeded : public std::runtime_error, public Doubt {
public:
    DeadlineExceeded() : std::runtime_error{"deadline exceeded"} {}
    explicit DeadlineExceeded(std::shared_ptr<Settlement> settlement)
        : std::runtime_error{settlement ? "deadline exceeded while the call was in progress"
                                        : "deadline exceeded"},
          Doubt{std::move(settlement)} {}
};

namespace detail {

// What the cancelled operation's own failure says, as the deadline's exception.
[[noreturn]] inline void rethrow_as_deadline(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Doubt&) {
        throw;  // DeadlineExceeded, or a client's timeout carrying the settlement
    } catch (const boost::system::system_error& e) {
        if (e.code() == boost::asio::error::operation_aborted) throw DeadlineExceeded{};
        throw;
    }
}

}  // namespace detail

template <typename T>
boost::asio::awaitable<T> with_deadline(boost::asio::awaitable<T> op, Deadline deadline) {
    if (deadline.is_never()) {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(op);
            co_return;
        } else {
            co_return co_await std::move(op);
        }
    }
    if (deadline.passed()) throw DeadlineExceeded{};  // never started: certain
    auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer{ex, deadline.when()};
    auto group = boost::asio::experimental::make_parallel_group(
        boost::asio::co_spawn(ex, std::move(op), boost::asio::deferred),
        timer.async_wait(boost::asio::deferred));
    if constexpr (std::is_void_v<T>) {
        auto [order, error, timer_ec] =
            co_await group.async_wait(boost::asio::experimental::wait_for_one(), boost::asio::use_awaitable);
        (void)timer_ec;
        if (error) {
            if (order[0] == 0) std::rethrow_exception(error);
            detail::rethrow_as_deadline(error);
        }
    } else {
        auto [order, error, value, timer_ec] =
            co_await group.async_wait(boost::asio::experimental::wait_for_one(), boost::asio::use_awaitable);
        (void)timer_ec;
        if (error) {
            if (order[0] == 0) std::rethrow_exception(error);
            detail::rethrow_as_deadline(error);
        }
        co_return std::move(value);
    }
}

}  // namespace cvgate::exec
