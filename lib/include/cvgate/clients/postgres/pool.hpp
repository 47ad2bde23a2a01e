#pragma once
// The PostgreSQL client coroutines use: a bounded pool of lazily opened connections, each
// lent to one operation at a time, its libpq calls run on the blocking pool, every call
// bounded by a deadline and told to the observer (options.hpp, clients/call_observer.hpp).
// Failures are ClientError{kind, Dependency::postgres, ...}. Public with what it lends and
// returns (connection, transaction, result, params, options, migrations); libpq's side of it
// is internal (lib/src/cvgate/clients/postgres/impl/), and no public header includes libpq-fe.h.

#include <cvgate/clients/postgres/connection.hpp>
#include <cvgate/clients/postgres/transaction.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace cvgate::clients::postgres {

namespace impl {
class PoolCore;
}

// Await its calls from coroutines whose executor runs one handler at a time (an io_context
// per thread, as the server has, or a strand): the deadline timers live there.
class Pool {
public:
    // `blocking` must outlive the pool. Opens no connection yet; throws rejected for a URL
    // that does not parse.
    Pool(exec::BlockingPool& blocking, PoolOptions options);
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();

    // One statement, by `deadline` for everything (never: default_timeout from now): waiting
    // for a free connection, connecting, running. At the deadline the caller resumes with
    // timeout at once; the statement is canceled on the server behind its back.
    // `name` (a literal): the caller's operation the call serves, which the observer
    // (PoolOptions::observer) is told it under; unnamed calls are told under no name.
    boost::asio::awaitable<Result> query(std::string sql, Params params = {});
    boost::asio::awaitable<Result> query(std::string sql, Params params, std::string_view name);
    boost::asio::awaitable<Result> query(std::string sql, Params params, Deadline deadline,
                                         std::string_view name = {});

    // Runs fn(Transaction&) on a blocking thread (its tx.query calls are synchronous), then
    // commits; an exception from fn rolls back and reaches the caller. No retry: on
    // conflict the caller decides. fn may capture by reference: the caller resumes only
    // once fn has returned, and the deadline is enforced inside, on every statement and
    // before COMMIT (so the caller may resume up to cancel_grace past it). A lambda that
    // captures by value is named first and moved in: see the GCC 12 note in exec/offload.hpp.
    template <typename F>
    auto with_transaction(F fn) -> boost::asio::awaitable<std::invoke_result_t<F&, Transaction&>> {
        return with_transaction(std::move(fn), Deadline{});
    }
    template <typename F>
    auto with_transaction(F fn, std::string_view name)
        -> boost::asio::awaitable<std::invoke_result_t<F&, Transaction&>> {
        return with_transaction(std::move(fn), Deadline{}, name);
    }
    template <typename F>
    auto with_transaction(F fn, Deadline deadline, std::string_view name = {})
        -> boost::asio::awaitable<std::invoke_result_t<F&, Transaction&>>;

    // As with_transaction, but fn(Connection&, Deadline) gets the session itself (for
    // session state such as advisory locks). A connection fn leaves in a transaction is dropped.
    template <typename F>
    auto with_connection(F fn, Deadline deadline)
        -> boost::asio::awaitable<std::invoke_result_t<F&, Connection&, Deadline>>;

    // SELECT 1 within ping_timeout: readiness.
    boost::asio::awaitable<void> ping(std::string_view name = {});

    struct Stats {
        std::size_t size;     // the bound
        std::size_t open;     // connections currently open
        std::size_t idle;     // free slots (open or not)
        std::size_t waiting;  // callers waiting for a slot
    };
    Stats stats() const;
    const PoolOptions& options() const noexcept;

private:
    using Work = std::function<void(Connection&, Deadline)>;
    // Every call passes here: it borrows a connection within the deadline and runs `work` on
    // it on the blocking pool, and the observer is told of it. Owned work is abandoned at the
    // deadline; borrowed work is awaited to its end.
    enum class Ownership { owned, borrowed };
    boost::asio::awaitable<void> run(const char* what, std::string_view name, Deadline deadline, Work work,
                                     Ownership ownership);
    boost::asio::awaitable<void> attempt(const char* what, Deadline deadline, Work work, Ownership ownership);

    template <typename F, typename... Args>
    struct Call {
        using R = std::invoke_result_t<F&, Args...>;
        F fn;
        std::optional<std::conditional_t<std::is_void_v<R>, std::monostate, R>> result;
        void invoke(Args... args) {
            if constexpr (std::is_void_v<R>)
                fn(args...);
            else
                result.emplace(fn(args...));
        }
    };

    std::shared_ptr<impl::PoolCore> core_;
};

template <typename F>
auto Pool::with_transaction(F fn, Deadline deadline, std::string_view name)
    -> boost::asio::awaitable<std::invoke_result_t<F&, Transaction&>> {
    using R = std::invoke_result_t<F&, Transaction&>;
    auto call = std::make_shared<Call<F, Transaction&>>(Call<F, Transaction&>{std::move(fn), std::nullopt});
    Work work = [call](Connection& conn, Deadline deadline) {
        Transaction tx{conn, deadline};
        call->invoke(tx);
        tx.commit();
    };
    co_await run("transaction", name, deadline, std::move(work), Ownership::borrowed);
    if constexpr (!std::is_void_v<R>) co_return std::move(*call->result);
}

template <typename F>
auto Pool::with_connection(F fn, Deadline deadline)
    -> boost::asio::awaitable<std::invoke_result_t<F&, Connection&, Deadline>> {
    using R = std::invoke_result_t<F&, Connection&, Deadline>;
    auto call = std::make_shared<Call<F, Connection&, Deadline>>(
        Call<F, Connection&, Deadline>{std::move(fn), std::nullopt});
    Work work = [call](Connection& conn, Deadline deadline) { call->invoke(conn, deadline); };
    co_await run("session", {}, deadline, std::move(work), Ownership::borrowed);
    if constexpr (!std::is_void_v<R>) co_return std::move(*call->result);
}

}  // namespace cvgate::clients::postgres
