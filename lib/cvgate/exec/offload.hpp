#pragma once
// `co_await offload(executor, fn)`: run a blocking callable on another executor (the
// blocking pool, or a strand on it) and resume the caller on its own executor with the
// value or the exception.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace cvgate::exec {

// Thrown to the awaiting coroutine when an offloaded call misses its deadline. The call
// itself may still be running on the pool: callables must own what they touch.
class DeadlineExceeded : public std::runtime_error {
public:
    DeadlineExceeded() : std::runtime_error{"deadline exceeded"} {}
};

namespace detail {

template <typename T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename F>
Stored<std::invoke_result_t<F&>> invoke_stored(F& fn) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        fn();
        return {};
    } else {
        return fn();
    }
}

// One pending offload with a deadline: whichever of "the call finished" and "the timer
// fired" happens first completes the awaiting coroutine; the other finds `claimed` set.
// Both paths run on the awaiter's executor, so the timer is only touched there.
// `work` keeps the awaiter's io_context running while the race is open; it is let go the
// moment the race is decided, so an abandoned call does not hold that io_context hostage.
// From then on the awaiter may destroy its io_context while the pool still holds this
// state: the timer goes with the decision, and the pool side looks at `claimed` under
// `home_mutex` (which the timer claims under) before it posts anything home.
template <typename Handler, typename Value, typename TrackedExecutor>
struct RaceState {
    RaceState(Handler h, boost::asio::any_io_executor ex, TrackedExecutor w)
        : handler{std::move(h)}, timer{std::in_place, ex}, work{std::move(w)} {}
    std::optional<Handler> handler;
    std::optional<boost::asio::steady_timer> timer;
    std::optional<TrackedExecutor> work;
    std::atomic<bool> claimed{false};
    std::mutex home_mutex;

    bool claim() { return !claimed.exchange(true); }
    // On the awaiter's executor, by the winner of the race.
    void complete(std::exception_ptr error, Value value) {
        auto h = std::move(*handler);
        handler.reset();
        timer.reset();
        work.reset();
        std::move(h)(error, std::move(value));
    }
};

}  // namespace detail

// Runs `fn` on `target`; the awaiting coroutine resumes on its own executor.
//
// Name the callable before the co_await: `auto work = [..] {..}; co_await offload(ex, std::move(work));`.
// GCC 12 destroys a capturing lambda written inline in a co_await expression twice (a
// use-after-free that ASan and valgrind both caught here); a named one is safe.
template <typename Executor, typename F>
auto offload(Executor target, F fn) -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    using Result = std::invoke_result_t<F&>;
    using Value = detail::Stored<Result>;

    auto initiate = [target](auto handler, F f) mutable {
        // A tracked executor: the caller's io_context counts the pending call as work.
        auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                        boost::asio::execution::outstanding_work.tracked);
        boost::asio::post(
            target, [f = std::move(f), handler = std::move(handler), home = std::move(home)]() mutable {
                std::exception_ptr error;
                std::optional<Value> value;
                try {
                    value.emplace(detail::invoke_stored(f));
                } catch (...) {
                    error = std::current_exception();
                }
                boost::asio::dispatch(
                    home, [handler = std::move(handler), error, value = std::move(value)]() mutable {
                        std::move(handler)(error, value ? std::move(*value) : Value{});
                    });
            });
    };
    if constexpr (std::is_void_v<Result>) {
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                             void(std::exception_ptr, Value)>(
            std::move(initiate), boost::asio::use_awaitable, std::move(fn));
    } else {
        co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                       void(std::exception_ptr, Value)>(
            std::move(initiate), boost::asio::use_awaitable, std::move(fn));
    }
}

// As offload(target, fn), but gives up waiting at `deadline` with DeadlineExceeded. A
// call still queued at the deadline never starts; one already running is abandoned (its
// result is dropped), so `fn` must hold its state by value or shared ownership.
template <typename Executor, typename F>
auto offload(Executor target, F fn, std::chrono::steady_clock::time_point deadline)
    -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    using Result = std::invoke_result_t<F&>;
    using Value = detail::Stored<Result>;

    auto initiate = [target, deadline](auto handler, F f) mutable {
        using Handler = decltype(handler);
        auto home = boost::asio::get_associated_executor(handler);
        auto tracked = boost::asio::prefer(home, boost::asio::execution::outstanding_work.tracked);
        using State = detail::RaceState<Handler, Value, decltype(tracked)>;
        auto state = std::make_shared<State>(std::move(handler), home, std::move(tracked));

        state->timer->expires_at(deadline);
        state->timer->async_wait([state](boost::system::error_code ec) {
            if (ec) return;
            {
                std::lock_guard lock{state->home_mutex};
                if (!state->claim()) return;
            }
            state->complete(std::make_exception_ptr(DeadlineExceeded{}), Value{});
        });

        boost::asio::post(target, [f = std::move(f), state, home, deadline]() mutable {
            std::exception_ptr error;
            std::optional<Value> value;
            if (state->claimed.load() || std::chrono::steady_clock::now() >= deadline) {
                return;  // the awaiter already gave up, or is about to: do not start the call
            }
            try {
                value.emplace(detail::invoke_stored(f));
            } catch (...) {
                error = std::current_exception();
            }
            // Lost to the timer: the awaiter has moved on and its io_context may be gone.
            std::lock_guard lock{state->home_mutex};
            if (state->claimed.load()) return;
            boost::asio::post(home, [state, error, value = std::move(value)]() mutable {
                if (!state->claim()) return;
                state->timer->cancel();
                state->complete(error, value ? std::move(*value) : Value{});
            });
        });
    };
    if constexpr (std::is_void_v<Result>) {
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                             void(std::exception_ptr, Value)>(
            std::move(initiate), boost::asio::use_awaitable, std::move(fn));
    } else {
        co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                       void(std::exception_ptr, Value)>(
            std::move(initiate), boost::asio::use_awaitable, std::move(fn));
    }
}

}  // namespace cvgate::exec
