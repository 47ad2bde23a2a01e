#pragma once
// `co_await offload(executor, fn)`: run a blocking callable on another executor (a blocking
// pool, or a strand on it) and resume the caller on its own executor with the value or the
// exception. It is an Asio asynchronous operation that honours the caller's cancellation slot,
// so a deadline is `co_await with_deadline(offload(ex, fn), deadline)` (exec/with_deadline.hpp)
// or the shorthand `offload(ex, fn, deadline)`. Cancelled before the call started, the call
// never starts and the caller gets DeadlineExceeded, a certain failure; cancelled while the
// call runs, the caller resumes at once with DeadlineExceeded carrying the Settlement that
// resolves when the abandoned call returns (exec/settlement.hpp): the call is *in doubt*.
// exec/ is public throughout: deadline.hpp, settlement.hpp, with_deadline.hpp, blocking_pool.hpp.
//
// The GCC 12 note, said once for the whole code base (elsewhere: "see the GCC 12 note in
// exec/offload.hpp"): inside a co_await expression, GCC 12 destroys a temporary aggregate
// twice — a capturing lambda (a use-after-free that ASan and valgrind both caught here), a
// braced object, the result of a ?: — and refuses a braced initializer_list ("array used as
// initializer"). So name what a co_await takes before it:
// `auto work = [..] {..}; co_await offload(ex, std::move(work));`. A lambda that captures
// only by reference has nothing to destroy and is safe inline.

#include <cvgate/exec/deadline.hpp>
#include <cvgate/exec/settlement.hpp>
#include <cvgate/exec/with_deadline.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace cvgate::exec {

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

// One offloaded call. `phase` moves queued → running → finished on the pool, or to abandoned
// from the caller's side when cancellation comes first; the mutex makes each move and what
// goes with it one step. The handler is touched only on the caller's executor: by the posted
// completion of a finished call, or by abandon() (a cancellation slot is emitted there).
template <typename Handler, typename Value, typename Work>
struct OffloadState : std::enable_shared_from_this<OffloadState<Handler, Value, Work>> {
    enum class Phase { queued, running, finished, abandoned };

    OffloadState(Handler h, Work w) : handler{std::move(h)}, work{std::move(w)} {}

    std::optional<Handler> handler;
    std::optional<Work> work;  // keeps the caller's context running until it completes
    std::mutex mutex;
    Phase phase = Phase::queued;
    std::shared_ptr<Settlement> settlement;  // made when abandoned while running

    // On the pool: whether the call may start.
    bool start() {
        std::lock_guard lock{mutex};
        if (phase != Phase::queued) return false;
        phase = Phase::running;
        return true;
    }

    // On the pool, when the call returned: home gets the result, or the settlement the outcome.
    void finish(std::exception_ptr error, std::optional<Value> value) {
        std::shared_ptr<Settlement> abandoned_with;
        {
            std::lock_guard lock{mutex};
            if (phase == Phase::abandoned) {
                abandoned_with = settlement;
            } else {
                phase = Phase::finished;
            }
        }
        if (abandoned_with) {
            abandoned_with->resolve(error ? Settlement::Outcome::failed : Settlement::Outcome::succeeded);
            return;
        }
        auto home = *work;
        boost::asio::post(home, [self = this->shared_from_this(), error, value = std::move(value)]() mutable {
            self->complete(error, value ? std::move(*value) : Value{});
        });
    }

    // On the caller's executor, from its cancellation slot.
    void abandon() {
        std::shared_ptr<Settlement> in_doubt;
        {
            std::lock_guard lock{mutex};
            if (phase == Phase::finished || phase == Phase::abandoned) return;
            if (phase == Phase::running) in_doubt = settlement = std::make_shared<Settlement>();
            phase = Phase::abandoned;
        }
        auto home = *work;
        auto error = std::make_exception_ptr(DeadlineExceeded{std::move(in_doubt)});
        boost::asio::post(home, [self = this->shared_from_this(), error] { self->complete(error, Value{}); });
    }

    void complete(std::exception_ptr error, Value value) {
        auto h = std::move(*handler);
        handler.reset();
        boost::asio::get_associated_cancellation_slot(h).clear();
        work.reset();
        std::move(h)(error, std::move(value));
    }
};

}  // namespace detail

namespace detail {

template <bool Cancellable, typename Executor, typename F, typename Token>
auto initiate_offload(Executor target, F fn, Token&& token) {
    using Value = Stored<std::invoke_result_t<F&>>;
    auto initiate = [target](auto handler, F f) mutable {
        using Handler = decltype(handler);
        auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                        boost::asio::execution::outstanding_work.tracked);
        using State = OffloadState<Handler, Value, decltype(home)>;
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        auto state = std::make_shared<State>(std::move(handler), std::move(home));
        if (Cancellable && slot.is_connected()) {
            slot.assign([weak = std::weak_ptr<State>{state}](boost::asio::cancellation_type type) {
                if (type == boost::asio::cancellation_type::none) return;
                if (auto s = weak.lock()) s->abandon();
            });
        }
        boost::asio::post(target, [state, f = std::move(f)]() mutable {
            if (!state->start()) return;  // abandoned while queued: never starts
            std::exception_ptr error;
            std::optional<Value> value;
            try {
                value.emplace(invoke_stored(f));
            } catch (...) {
                error = std::current_exception();
            }
            state->finish(error, std::move(value));
        });
    };
    return boost::asio::async_initiate<Token, void(std::exception_ptr, Value)>(std::move(initiate), token,
                                                                               std::move(fn));
}

}  // namespace detail

// The operation itself, for any completion token: signature void(std::exception_ptr, Value).
template <typename Executor, typename F, typename Token>
auto async_offload(Executor target, F fn, Token&& token) {
    return detail::initiate_offload<true>(std::move(target), std::move(fn), std::forward<Token>(token));
}

// Runs `fn` on `target`; the awaiting coroutine resumes on its own executor.
template <typename Executor, typename F>
auto offload(Executor target, F fn) -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        co_await async_offload(std::move(target), std::move(fn), boost::asio::use_awaitable);
    } else {
        co_return co_await async_offload(std::move(target), std::move(fn), boost::asio::use_awaitable);
    }
}

// As offload(target, fn), deaf to the caller's cancellation: the caller resumes only once
// `fn` has returned, so `fn` may capture the caller's locals by reference.
template <typename Executor, typename F>
auto offload_to_end(Executor target, F fn) -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        co_await detail::initiate_offload<false>(std::move(target), std::move(fn),
                                                 boost::asio::use_awaitable);
    } else {
        co_return co_await detail::initiate_offload<false>(std::move(target), std::move(fn),
                                                           boost::asio::use_awaitable);
    }
}

// with_deadline(offload(target, fn), deadline): `fn` must hold what it touches by value or
// shared ownership, since an abandoned call outlives the caller's frame.
template <typename Executor, typename F>
auto offload(Executor target, F fn, Deadline deadline) -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        co_await with_deadline(offload(std::move(target), std::move(fn)), deadline);
    } else {
        co_return co_await with_deadline(offload(std::move(target), std::move(fn)), deadline);
    }
}

}  // namespace cvgate::exec
