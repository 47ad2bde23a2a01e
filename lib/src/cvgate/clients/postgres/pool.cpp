#include <cvgate/clients/postgres/pool.hpp>

#include <cvgate/clients/postgres/impl/errors.hpp>
#include <cvgate/clients/postgres/impl/pool_core.hpp>
#include <cvgate/exec/offload.hpp>

#include <boost/asio/use_awaitable.hpp>

namespace cvgate::clients::postgres {
namespace {

// A URL that does not parse fails start-up rather than the first request.
PoolOptions checked(PoolOptions options) {
    impl::password_of(options.connection.url);
    return options;
}

}  // namespace

Pool::Pool(exec::BlockingPool& blocking, PoolOptions options)
    : core_{std::make_shared<impl::PoolCore>(blocking.executor(), checked(std::move(options)))} {}

Pool::~Pool() = default;

const PoolOptions& Pool::options() const noexcept { return core_->options(); }

Pool::Stats Pool::stats() const { return core_->stats(); }

boost::asio::awaitable<void> Pool::run(const char* what, std::string_view name, Deadline deadline, Work work,
                                       Ownership ownership) {
    auto call = attempt(what, deadline.or_after(options().default_timeout), std::move(work), ownership);
    co_await observed(options().observer, what, name, std::move(call));
}

boost::asio::awaitable<void> Pool::attempt(const char* what, Deadline deadline, Work work,
                                           Ownership ownership) {
    // For the messages: how long the call was given.
    const auto timeout = std::chrono::ceil<std::chrono::milliseconds>(deadline.remaining());
    impl::Lease lease = core_->try_acquire();
    if (!lease && options().max_waiting != 0 && core_->stats().waiting >= options().max_waiting)
        throw impl::error(ErrorKind::unavailable,
                          std::string{what} + ": " + std::to_string(options().max_waiting) +
                              " callers already wait for a connection (the bound); not queued");
    if (!lease) {
        try {
            lease = co_await exec::with_deadline(core_->async_acquire(boost::asio::use_awaitable), deadline);
        } catch (const exec::DeadlineExceeded&) {
            // Never waited: the deadline had passed already. An empty lease says the same.
        }
    }
    if (!lease) {
        throw impl::error(ErrorKind::timeout, std::string{what} + ": no free connection within " +
                                                  impl::ms_text(timeout) + " (pool of " +
                                                  std::to_string(options().size) + ")");
    }
    auto job = [lease = std::move(lease), work = std::move(work), deadline]() mutable {
        // The slot goes back before the caller resumes, so its next call finds it free.
        impl::Lease held = std::move(lease);
        held.run(work, deadline);
    };
    if (ownership == Ownership::borrowed) {
        co_await exec::offload_to_end(core_->blocking(), std::move(job));
        co_return;
    }
    try {
        co_await exec::offload(core_->blocking(), std::move(job), deadline);
    } catch (const exec::DeadlineExceeded& e) {
        const std::string message = std::string{what} + " did not complete within " + impl::ms_text(timeout);
        if (e.settlement()) throw ClientError::in_doubt(Dependency::postgres, message, e.settlement());
        throw impl::error(ErrorKind::timeout, message);
    }
}

boost::asio::awaitable<Result> Pool::query(std::string sql, Params params) {
    return query(std::move(sql), std::move(params), Deadline{});
}

boost::asio::awaitable<Result> Pool::query(std::string sql, Params params, std::string_view name) {
    return query(std::move(sql), std::move(params), Deadline{}, name);
}

boost::asio::awaitable<Result> Pool::query(std::string sql, Params params, Deadline deadline,
                                           std::string_view name) {
    // Owned by the work, which may outlive this frame when the deadline abandons it.
    struct Statement {
        std::string sql;
        Params params;
        Result result;
    };
    auto statement = std::make_shared<Statement>(Statement{std::move(sql), std::move(params), {}});
    Work work = [statement](Connection& conn, Deadline deadline) {
        statement->result = conn.query(statement->sql, statement->params, deadline);
    };
    co_await run("query", name, deadline, std::move(work), Ownership::owned);
    co_return std::move(statement->result);
}

boost::asio::awaitable<void> Pool::ping(std::string_view name) {
    co_await query("SELECT 1", {}, Deadline::after(options().ping_timeout), name);
}

}  // namespace cvgate::clients::postgres
