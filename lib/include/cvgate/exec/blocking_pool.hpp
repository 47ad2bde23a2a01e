#pragma once
// The thread pool on which blocking calls (libpq, mongoc, rabbitmq-c, fsync) run, so that
// no I/O thread ever waits on them.

#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstddef>

namespace cvgate::exec {

class BlockingPool {
public:
    using executor_type = boost::asio::thread_pool::executor_type;
    using strand_type = boost::asio::strand<executor_type>;

    explicit BlockingPool(std::size_t threads);
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;
    ~BlockingPool();

    executor_type executor() noexcept { return pool_.get_executor(); }
    // A strand serialises the work on one non-thread-safe handle; different strands run in parallel.
    strand_type make_strand() { return boost::asio::make_strand(pool_.get_executor()); }
    std::size_t size() const noexcept { return threads_; }

    // Waits for queued work to finish, then joins the threads. Idempotent.
    void join();

private:
    std::size_t threads_;
    boost::asio::thread_pool pool_;
};

}  // namespace cvgate::exec
