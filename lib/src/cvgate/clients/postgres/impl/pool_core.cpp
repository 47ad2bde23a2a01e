#include <cvgate/clients/postgres/impl/pool_core.hpp>

#include <algorithm>

namespace cvgate::clients::postgres::impl {

Lease& Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        reset();
        core_ = std::move(other.core_);
        slot_ = other.slot_;
    }
    return *this;
}

void Lease::reset() noexcept {
    if (core_) {
        core_->release(slot_);
        core_.reset();
    }
}

void Lease::run(const std::function<void(Connection&, Deadline)>& work, Deadline deadline) {
    auto& conn = core_->connections_[slot_];
    auto drop = [&] {
        conn.reset();
        core_->open_.fetch_sub(1);
    };
    if (conn && !conn->reusable()) drop();
    if (!conn) {
        conn.emplace(Connection::open(core_->options_.connection, deadline));
        core_->open_.fetch_add(1);
    }
    auto tidy = [&] {
        if (!conn->is_open() || conn->in_transaction()) drop();
    };
    try {
        work(*conn, deadline);
    } catch (...) {
        tidy();
        throw;
    }
    tidy();
}

PoolCore::PoolCore(exec::BlockingPool::executor_type blocking, PoolOptions options)
    : blocking_{std::move(blocking)}, options_{std::move(options)} {
    options_.size = std::max<std::size_t>(options_.size, 1);
    connections_.resize(options_.size);
    // Lowest slot first: a lightly loaded pool keeps reusing the same few connections.
    for (std::size_t i = options_.size; i-- > 0;) free_.push_back(i);
}

PoolCore::~PoolCore() = default;

Pool::Stats PoolCore::stats() const {
    std::lock_guard lock{mutex_};
    return Pool::Stats{options_.size, open_.load(), free_.size(), waiters_.size()};
}

Lease PoolCore::try_acquire() {
    std::lock_guard lock{mutex_};
    if (free_.empty()) return {};
    const std::size_t slot = free_.back();
    free_.pop_back();
    return Lease{shared_from_this(), slot};
}

void PoolCore::enqueue(std::shared_ptr<Waiter> waiter) {
    std::unique_lock lock{mutex_};
    if (free_.empty()) {
        waiters_.push_back(std::move(waiter));
        return;
    }
    // A slot came free between try_acquire and here.
    if (!waiter->claim()) return;  // already timed out
    const std::size_t slot = free_.back();
    free_.pop_back();
    lock.unlock();
    waiter->grant(Lease{shared_from_this(), slot});
}

void PoolCore::forget(const Waiter* waiter) {
    std::lock_guard lock{mutex_};
    auto it =
        std::find_if(waiters_.begin(), waiters_.end(), [&](const auto& w) { return w.get() == waiter; });
    if (it != waiters_.end()) waiters_.erase(it);
}

void PoolCore::release(std::size_t slot) noexcept {
    std::shared_ptr<Waiter> next;
    std::vector<std::shared_ptr<Waiter>> expired;  // destroyed outside the lock
    {
        std::lock_guard lock{mutex_};
        while (!waiters_.empty() && !next) {
            auto w = std::move(waiters_.front());
            waiters_.pop_front();
            if (w->claim())
                next = std::move(w);
            else
                expired.push_back(std::move(w));
        }
        if (!next) free_.push_back(slot);
    }
    if (next) next->grant(Lease{shared_from_this(), slot});
}

}  // namespace cvgate::clients::postgres::impl
