#include <cvgate/exec/settlement.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cvgate::exec {

void Settlement::resolve(Outcome outcome) {
    std::vector<std::function<void(Outcome)>> waiters;
    {
        std::lock_guard lock{mutex_};
        if (outcome_) return;
        outcome_ = outcome;
        waiters.swap(waiters_);
    }
    for (auto& w : waiters) w(outcome);
}

std::optional<Settlement::Outcome> Settlement::outcome() const {
    std::lock_guard lock{mutex_};
    return outcome_;
}

boost::asio::awaitable<std::optional<Settlement::Outcome>> Settlement::wait(Deadline deadline) {
    // The waiter's timer and result are touched only on the waiter's executor: resolve()
    // posts there. It is shared, so a late resolve finds it alive after the wait ended.
    struct Waiter {
        explicit Waiter(boost::asio::any_io_executor ex) : home{ex}, timer{ex} {}
        boost::asio::any_io_executor home;
        boost::asio::steady_timer timer;
        std::optional<Outcome> result;
    };
    auto waiter = std::make_shared<Waiter>(co_await boost::asio::this_coro::executor);
    {
        std::lock_guard lock{mutex_};
        if (outcome_) co_return outcome_;
        waiters_.push_back([waiter](Outcome o) {
            boost::asio::post(waiter->home, [waiter, o] {
                waiter->result = o;
                waiter->timer.cancel();
            });
        });
    }
    waiter->timer.expires_at(deadline.when());
    boost::system::error_code ec;
    co_await waiter->timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return waiter->result;
}

std::shared_ptr<Settlement> settlement_of(const std::exception_ptr& error) noexcept {
    if (!error) return nullptr;
    try {
        std::rethrow_exception(error);
    } catch (const Doubt& d) {
        return d.settlement();
    } catch (...) {
        return nullptr;
    }
}

}  // namespace cvgate::exec
