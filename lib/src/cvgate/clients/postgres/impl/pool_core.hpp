#pragma once
// The machinery behind Pool: slots, the FIFO of coroutines waiting for one, and the lease
// that lends a slot's connection to one operation.

#include <cvgate/clients/postgres/pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace cvgate::clients::postgres::impl {

class PoolCore;

// Exclusive use of one slot; hands it back (to the next waiter, or the free list) when destroyed.
class Lease {
public:
    Lease() = default;
    Lease(std::shared_ptr<PoolCore> core, std::size_t slot) noexcept : core_{std::move(core)}, slot_{slot} {}
    Lease(Lease&& other) noexcept : core_{std::move(other.core_)}, slot_{other.slot_} {}
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { reset(); }

    explicit operator bool() const noexcept { return core_ != nullptr; }
    void reset() noexcept;

    // On the blocking pool: gets the slot a usable connection (reopened if it never was,
    // broke, or was closed by the server while idle), runs `work` on it, then drops a
    // connection left broken or inside a transaction.
    void run(const std::function<void(Connection&, Deadline)>& work, Deadline deadline);

private:
    std::shared_ptr<PoolCore> core_;
    std::size_t slot_ = 0;
};

// A coroutine waiting for a slot. Whoever claims it first completes it: a releasing
// lease (with the slot) or the caller's cancellation (empty-handed: a deadline passed).
class Waiter : public std::enable_shared_from_this<Waiter> {
public:
    virtual ~Waiter() = default;
    bool claim() noexcept { return !claimed_.exchange(true); }
    // Completes the waiter with `lease` on its own executor.
    virtual void grant(Lease lease) = 0;

private:
    std::atomic<bool> claimed_{false};
};

class PoolCore : public std::enable_shared_from_this<PoolCore> {
public:
    PoolCore(exec::BlockingPool::executor_type blocking, PoolOptions options);
    ~PoolCore();

    const PoolOptions& options() const noexcept { return options_; }
    exec::BlockingPool::executor_type blocking() const noexcept { return blocking_; }
    Pool::Stats stats() const;

    // A free slot now, or none.
    Lease try_acquire();
    // Completes with a slot, or with an empty lease when the caller's cancellation slot is
    // emitted first (exec::with_deadline). The completion runs on the caller's executor.
    template <typename Token>
    auto async_acquire(Token&& token);

private:
    friend class Lease;
    template <typename Handler>
    class WaiterFor;

    void release(std::size_t slot) noexcept;
    void enqueue(std::shared_ptr<Waiter> waiter);
    void forget(const Waiter* waiter);

    exec::BlockingPool::executor_type blocking_;
    PoolOptions options_;
    // connections_[i] is touched only by the holder of slot i's lease.
    std::vector<std::optional<Connection>> connections_;
    std::atomic<std::size_t> open_{0};

    mutable std::mutex mutex_;
    std::vector<std::size_t> free_;
    std::deque<std::shared_ptr<Waiter>> waiters_;
};

template <typename Handler>
class PoolCore::WaiterFor final : public Waiter {
public:
    WaiterFor(Handler handler, boost::asio::any_io_executor home)
        : handler_{std::move(handler)}, home_{std::move(home)} {}

    // On the caller's executor, before the waiter is published.
    void listen(std::shared_ptr<PoolCore> core) {
        auto slot = boost::asio::get_associated_cancellation_slot(*handler_);
        if (!slot.is_connected()) return;
        slot.assign(
            [weak = std::weak_ptr<Waiter>{shared_from_this()}, core](boost::asio::cancellation_type type) {
                if (type == boost::asio::cancellation_type::none) return;
                auto self = weak.lock();
                if (!self || !self->claim()) return;  // granted meanwhile
                core->forget(self.get());
                auto waiter = std::static_pointer_cast<WaiterFor>(self);
                boost::asio::post(waiter->home_, [waiter] { waiter->complete(Lease{}); });
            });
    }

    void grant(Lease lease) override {
        auto self = std::static_pointer_cast<WaiterFor>(shared_from_this());
        // If home never runs this (its context stopped), the lease's destructor returns the slot.
        boost::asio::post(home_,
                          [self, lease = std::move(lease)]() mutable { self->complete(std::move(lease)); });
    }

private:
    void complete(Lease lease) {
        auto handler = std::move(*handler_);
        handler_.reset();
        boost::asio::get_associated_cancellation_slot(handler).clear();
        std::move(handler)(std::move(lease));
    }

    std::optional<Handler> handler_;
    boost::asio::any_io_executor home_;
};

template <typename Token>
auto PoolCore::async_acquire(Token&& token) {
    return boost::asio::async_initiate<Token, void(Lease)>(
        [core = shared_from_this()](auto handler) {
            using Handler = decltype(handler);
            auto home = boost::asio::get_associated_executor(handler);
            auto waiter = std::make_shared<WaiterFor<Handler>>(std::move(handler), home);
            waiter->listen(core);
            core->enqueue(std::move(waiter));
        },
        token);
}

}  // namespace cvgate::clients::postgres::impl
