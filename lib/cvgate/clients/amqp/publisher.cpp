#include <cvgate/clients/amqp/publisher.hpp>

#include <cvgate/clients/amqp/impl/confirm_channel.hpp>
#include <cvgate/clients/amqp/impl/endpoint.hpp>
#include <cvgate/clients/amqp/impl/operation.hpp>
#include <cvgate/clients/amqp/impl/stall_watchdog.hpp>
#include <cvgate/clients/amqp/impl/wake_signal.hpp>
#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/offload.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>

namespace cvgate::clients::amqp {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using impl::Operation;

namespace {

std::string what_of(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

std::exception_ptr unavailable(const std::string& message) {
    return std::make_exception_ptr(ClientError{ErrorKind::unavailable, Dependency::rabbitmq, message});
}

PublisherOptions normalised(PublisherOptions options) {
    options.max_in_flight = std::max<std::size_t>(options.max_in_flight, 1);
    options.reconnect_backoff_max = std::max(options.reconnect_backoff_max, options.reconnect_backoff_min);
    return options;
}

}  // namespace

// All use of the connection happens on one strand of the blocking pool. Callers queue
// operations (under a mutex) and suspend; one "pump" task on the strand sends whatever is
// queued, without waiting for earlier publishes to be confirmed, and then sleeps in poll() on
// the broker's socket and a wake-up eventfd until confirms arrive or more work is queued. It
// returns the thread to the pool once nothing is queued or in flight; while the connection
// is idle, a timer on the strand reads what the broker sends (heartbeats, a close) every few
// seconds, so a dead connection is noticed before the next publish.
class Publisher::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(exec::BlockingPool& pool, impl::Endpoint endpoint, PublisherOptions options)
        : endpoint_{std::move(endpoint)},
          options_{normalised(std::move(options))},
          settings_{options_.connect_timeout, options_.rpc_timeout, options_.heartbeat,
                    options_.connection_name},
          strand_{pool.make_strand()},
          watchdog_{std::max(options_.confirm_timeout / 2, std::chrono::milliseconds{100})},
          backoff_{options_.reconnect_backoff_min},
          tick_{strand_} {}

    const PublisherOptions& options() const noexcept { return options_; }
    exec::BlockingPool::strand_type strand() const { return strand_; }

    asio::awaitable<void> run(std::shared_ptr<Operation> op) {
        // A named initiation, with the operation passed as an argument: GCC 12 destroys a
        // lambda temporary written inside a co_await expression twice, which over-released a
        // shared_ptr it captured.
        auto initiate = [weak = weak_from_this()](auto handler, std::shared_ptr<Operation> op) {
            auto home = asio::get_associated_executor(handler);
            op->arm(std::move(handler), std::move(home), [weak] {
                if (auto impl = weak.lock()) impl->on_abandoned();
            });
            if (auto self = weak.lock()) {
                self->submit(std::move(op));
            } else {
                op->settle(unavailable("the publisher is closed"));
            }
        };
        co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
            std::move(initiate), asio::use_awaitable, std::move(op));
    }

    // On the strand. Idempotent.
    void shutdown() {
        std::deque<std::shared_ptr<Operation>> queued;
        {
            std::lock_guard lock{mutex_};
            closed_ = true;
            queued.swap(queue_);
        }
        const auto closed = unavailable("the publisher is closed");
        for (auto& op : backlog_) op->settle(closed);
        for (auto& op : queued) op->settle(closed);
        backlog_.clear();
        if (channel_) {
            channel_->fail_in_flight(ErrorKind::unavailable,
                                     "the publisher closed before the broker confirmed", settled_);
            settle();
            watchdog_.unwatch();
            channel_.reset();  // says connection.close
        }
        tick_.cancel();
    }

private:
    // Any thread.
    void submit(std::shared_ptr<Operation> op) {
        bool start = false;
        bool wake = false;
        {
            std::lock_guard lock{mutex_};
            if (closed_) {
                op->settle(unavailable("the publisher is closed"));
                return;
            }
            queue_.push_back(op);
            start = !std::exchange(pumping_, true);
            // One wake-up per sleep is enough: the pump takes the whole queue when it wakes.
            wake = !start && pump_asleep_ && !std::exchange(wake_sent_, true);
        }
        if (start) {
            asio::post(strand_, [self = shared_from_this()] { self->pump(); });
        } else if (wake) {
            wake_.notify();
        }
    }

    // On a caller's thread, when it gave up on an operation: let the pump drop it, and unstick
    // the strand if a send has been blocked for too long.
    void on_abandoned() {
        watchdog_.check();
        wake_.notify();
    }

    void pump() {
        try {
            pump_until_idle();
        } catch (...) {
            // Nothing here should throw; if something does, fail what waits rather than let the
            // exception escape into the thread pool.
            fail_everything(std::current_exception());
        }
        arm_tick();
    }

    void pump_until_idle() {
        for (;;) {
            take_queued();
            if (channel_) {
                impl::StallWatchdog::Busy busy{watchdog_};
                channel_->read_available(settled_);  // confirms, and a close, before sending more
            }
            settle();
            while (!backlog_.empty()) {
                auto op = backlog_.front();
                if (op->finished()) {
                    backlog_.pop_front();
                    continue;
                }
                if (op->kind == Operation::Kind::publish && channel_ &&
                    channel_->in_flight() >= options_.max_in_flight) {
                    break;
                }
                backlog_.pop_front();
                execute(op);
                settle();
            }
            if (channel_) channel_->forget_settled();
            // The backlog only holds work back while publishes are in flight on a channel.
            if (!channel_ || (channel_->in_flight() == 0 && backlog_.empty())) {
                std::lock_guard lock{mutex_};
                if (queue_.empty()) {
                    pumping_ = false;
                    return;
                }
                continue;
            }
            wait_for_input();
        }
    }

    void take_queued() {
        std::lock_guard lock{mutex_};
        for (auto& op : queue_) backlog_.push_back(std::move(op));
        queue_.clear();
    }

    void execute(const std::shared_ptr<Operation>& op) {
        if (!op->begin_send()) return;  // its caller gave up: never sent
        if (!channel_ && !connect_for(*op)) return;
        switch (op->kind) {
            case Operation::Kind::publish: {
                impl::StallWatchdog::Busy busy{watchdog_};
                channel_->publish(op, settled_);
                break;
            }
            case Operation::Kind::declare_queue:
                channel_->declare_queue(op, settled_);
                break;
            case Operation::Kind::ping:
                channel_->ping(op, settled_);
                break;
        }
    }

    bool connect_for(Operation& op) {
        const auto now = Clock::now();
        if (now < retry_at_) {
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
            op.settle(std::make_exception_ptr(ClientError{ErrorKind::unavailable, Dependency::rabbitmq,
                                                          "not connected to " + endpoint_.describe() + " (" +
                                                              last_connect_error_ + "); next attempt in " +
                                                              std::to_string(wait.count()) + " ms",
                                                          last_connect_cause_}));
            return false;
        }
        try {
            channel_ = std::make_unique<impl::ConfirmChannel>(endpoint_, settings_);
        } catch (const ClientError& e) {
            const std::string_view what = e.what();
            const auto colon = what.find(": ");
            last_connect_error_ = colon == what.npos ? what : what.substr(colon + 2);
            last_connect_cause_ = e.cause();
            retry_at_ = Clock::now() + backoff_;
            backoff_ = std::min(backoff_ * 2, options_.reconnect_backoff_max);
            op.settle(std::current_exception());
            return false;
        }
        backoff_ = options_.reconnect_backoff_min;
        retry_at_ = {};
        watchdog_.watch(channel_->fd());
        return true;
    }

    // Resumes the callers whose operations finished, and replaces a broken connection.
    void settle() {
        for (auto& s : settled_) s.waiter->settle(s.error);
        settled_.clear();
        if (channel_ && !channel_->usable()) {
            watchdog_.unwatch();
            channel_.reset();
        }
    }

    void wait_for_input() {
        {
            std::lock_guard lock{mutex_};
            if (!queue_.empty()) return;
            pump_asleep_ = true;
            wake_sent_ = false;
        }
        pollfd fds[2] = {{wake_.fd(), POLLIN, 0}, {channel_->fd(), POLLIN, 0}};  // a negative fd is skipped
        const int timeout = channel_->has_buffered_input() ? 0 : static_cast<int>(tick_interval().count());
        if (::poll(fds, 2, timeout) > 0 && fds[0].revents) wake_.clear();
        std::lock_guard lock{mutex_};
        pump_asleep_ = false;
    }

    std::chrono::milliseconds tick_interval() const {
        const std::chrono::milliseconds half_heartbeat = options_.heartbeat / 2;
        const std::chrono::milliseconds longest{5000};
        return options_.heartbeat.count() > 0
                   ? std::clamp(half_heartbeat, std::chrono::milliseconds{500}, longest)
                   : longest;
    }

    // On the strand, while no pump runs: keeps an idle connection's heartbeats going and
    // notices a broker that closed it.
    void arm_tick() {
        if (ticking_ || !channel_) return;
        ticking_ = true;
        tick_.expires_after(tick_interval());
        tick_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            if (auto self = weak.lock()) self->on_tick(ec);
        });
    }

    void on_tick(boost::system::error_code ec) {
        ticking_ = false;
        if (ec || !channel_) return;
        try {
            {
                impl::StallWatchdog::Busy busy{watchdog_};
                channel_->read_available(settled_);
            }
            settle();
        } catch (...) {
            fail_everything(std::current_exception());
        }
        arm_tick();
    }

    void fail_everything(const std::exception_ptr& error) {
        for (auto& s : settled_) s.waiter->settle(s.error);
        settled_.clear();
        for (auto& op : backlog_) op->settle(error);
        backlog_.clear();
        if (channel_) {
            channel_->fail_in_flight(ErrorKind::unavailable,
                                     "unconfirmed when the publisher failed: " + what_of(error), settled_);
            for (auto& s : settled_) s.waiter->settle(s.error);
            settled_.clear();
            watchdog_.unwatch();
            channel_.reset();
        }
        std::lock_guard lock{mutex_};
        for (auto& op : queue_) op->settle(error);
        queue_.clear();
        pumping_ = false;
    }

    const impl::Endpoint endpoint_;
    const PublisherOptions options_;
    const impl::ConnectionSettings settings_;
    exec::BlockingPool::strand_type strand_;
    impl::WakeSignal wake_;
    impl::StallWatchdog watchdog_;

    std::mutex mutex_;  // guards what follows up to the strand's own, which callers' threads touch
    std::deque<std::shared_ptr<Operation>> queue_;
    bool pumping_ = false;
    bool pump_asleep_ = false;  // in poll(): a new operation must wake it
    bool wake_sent_ = false;
    bool closed_ = false;

    // The strand's own.
    std::deque<std::shared_ptr<Operation>> backlog_;
    std::unique_ptr<impl::ConfirmChannel> channel_;
    impl::ConfirmChannel::SettledList settled_;
    Clock::time_point retry_at_{};
    std::chrono::milliseconds backoff_;
    std::string last_connect_error_;
    Cause last_connect_cause_ = Cause::error;  // why the last attempt failed, for the ones it refuses
    asio::steady_timer tick_;
    bool ticking_ = false;
};

Publisher::Publisher(exec::BlockingPool& pool, std::string_view url, PublisherOptions options)
    : impl_{std::make_shared<Impl>(pool, impl::parse_endpoint(url), std::move(options))} {}

Publisher::~Publisher() {
    if (impl_) {
        auto strand = impl_->strand();
        asio::post(strand, [impl = std::move(impl_)] { impl->shutdown(); });
    }
}

asio::awaitable<void> Publisher::publish(Message message, exec::Deadline deadline) {
    auto impl = impl_;
    const auto timeout = impl->options().confirm_timeout;
    auto op = std::make_shared<Operation>(Operation::Kind::publish, timeout);
    op->message = std::move(message);
    co_await observed(impl->options().observer, "publish", {},
                      exec::with_deadline(impl->run(std::move(op)), deadline.or_after(timeout)));
}

asio::awaitable<void> Publisher::declare_queue(std::string name) {
    auto impl = impl_;
    const auto timeout = impl->options().rpc_timeout;
    auto op = std::make_shared<Operation>(Operation::Kind::declare_queue, timeout);
    op->queue = std::move(name);
    co_await observed(impl->options().observer, "declare_queue", {},
                      exec::with_deadline(impl->run(std::move(op)), exec::Deadline::after(timeout)));
}

asio::awaitable<void> Publisher::ping(exec::Deadline deadline) {
    auto impl = impl_;
    const auto timeout = impl->options().rpc_timeout;
    auto op = std::make_shared<Operation>(Operation::Kind::ping, timeout);
    co_await observed(impl->options().observer, "ping", {},
                      exec::with_deadline(impl->run(std::move(op)), deadline.or_after(timeout)));
}

asio::awaitable<void> Publisher::close() {
    auto impl = impl_;
    auto shutdown = [impl] { impl->shutdown(); };  // named: see Impl::run on GCC 12
    co_await exec::offload(impl->strand(), std::move(shutdown));
}

}  // namespace cvgate::clients::amqp
