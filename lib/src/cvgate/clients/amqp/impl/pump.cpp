#include <cvgate/clients/amqp/impl/pump.hpp>

#include <cvgate/clients/client_error.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>

#include <algorithm>
#include <utility>

namespace cvgate::clients::amqp::impl {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

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

Pump::Pump(exec::BlockingPool& pool, Endpoint endpoint, PublisherOptions options)
    : endpoint_{std::move(endpoint)},
      options_{normalised(std::move(options))},
      settings_{options_.connect_timeout, options_.rpc_timeout, options_.heartbeat, options_.connection_name},
      strand_{pool.make_strand()},
      watchdog_{std::max(options_.confirm_timeout / 2, std::chrono::milliseconds{100})},
      backoff_{options_.reconnect_backoff_min},
      tick_{strand_} {}

asio::awaitable<void> Pump::run(std::shared_ptr<Operation> op) {
    // A named initiation, with the operation passed as an argument rather than captured: see
    // the GCC 12 note in exec/offload.hpp.
    auto initiate = [weak = weak_from_this()](auto handler, std::shared_ptr<Operation> op) {
        auto home = asio::get_associated_executor(handler);
        op->arm(std::move(handler), std::move(home), [weak] {
            if (auto pump = weak.lock()) pump->on_abandoned();
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

void Pump::shutdown() {
    {
        std::lock_guard lock{mutex_};
        closed_ = true;  // from here on, submit() refuses
    }
    fail_all(unavailable("the publisher is closed"), "the publisher closed before the broker confirmed");
    tick_.cancel();
}

// Any thread.
void Pump::submit(std::shared_ptr<Operation> op) {
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

// On a caller's thread, when it gave up on an operation: let the pump drop it, and unstick the
// strand if a send has been blocked for too long.
void Pump::on_abandoned() {
    watchdog_.check();
    wake_.notify();
}

void Pump::pump() {
    try {
        pump_until_idle();
    } catch (...) {
        // Nothing here should throw; if something does, fail what waits rather than let the
        // exception escape into the thread pool.
        fail_after(std::current_exception());
    }
    arm_tick();
}

void Pump::pump_until_idle() {
    for (;;) {
        take_queued();
        if (channel_) {
            StallWatchdog::Busy busy{watchdog_};
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

void Pump::take_queued() {
    std::lock_guard lock{mutex_};
    for (auto& op : queue_) backlog_.push_back(std::move(op));
    queue_.clear();
}

void Pump::execute(const std::shared_ptr<Operation>& op) {
    if (!op->begin_send()) return;  // its caller gave up: never sent
    if (!channel_ && !connect_for(*op)) return;
    switch (op->kind) {
        case Operation::Kind::publish: {
            StallWatchdog::Busy busy{watchdog_};
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

bool Pump::connect_for(Operation& op) {
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
        channel_ = std::make_unique<ConfirmChannel>(endpoint_, settings_);
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

// Resumes the callers whose operations the channel settled.
void Pump::resume_settled() {
    for (auto& s : settled_) s.waiter->settle(s.error);
    settled_.clear();
}

// Resumes the callers whose operations finished, and replaces a broken connection.
void Pump::settle() {
    resume_settled();
    if (channel_ && !channel_->usable()) drop_channel();
}

void Pump::drop_channel() {
    watchdog_.unwatch();
    channel_.reset();
}

void Pump::wait_for_input() {
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

std::chrono::milliseconds Pump::tick_interval() const {
    const std::chrono::milliseconds half_heartbeat = options_.heartbeat / 2;
    const std::chrono::milliseconds longest{5000};
    return options_.heartbeat.count() > 0
               ? std::clamp(half_heartbeat, std::chrono::milliseconds{500}, longest)
               : longest;
}

// On the strand, while no pump runs: keeps an idle connection's heartbeats going and notices a
// broker that closed it.
void Pump::arm_tick() {
    if (ticking_ || !channel_) return;
    ticking_ = true;
    tick_.expires_after(tick_interval());
    tick_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock()) self->on_tick(ec);
    });
}

void Pump::on_tick(boost::system::error_code ec) {
    ticking_ = false;
    if (ec || !channel_) return;
    try {
        {
            StallWatchdog::Busy busy{watchdog_};
            channel_->read_available(settled_);
        }
        settle();
    } catch (...) {
        fail_after(std::current_exception());
    }
    arm_tick();
}

// Something threw that should not have: nothing the pump holds can be trusted to finish.
void Pump::fail_after(const std::exception_ptr& error) {
    fail_all(error, "unconfirmed when the publisher failed: " + what_of(error));
}

// Settles every operation the pump holds, then drops the connection (which says
// connection.close): what the channel already settled gets its own outcome, what is in flight
// fails in doubt (ConfirmChannel::fail_in_flight), what was never sent fails with `error`.
void Pump::fail_all(const std::exception_ptr& error, const std::string& in_doubt) {
    resume_settled();
    for (auto& op : backlog_) op->settle(error);
    backlog_.clear();
    if (channel_) {
        channel_->fail_in_flight(ErrorKind::unavailable, in_doubt, settled_);
        resume_settled();
        drop_channel();
    }
    std::lock_guard lock{mutex_};
    for (auto& op : queue_) op->settle(error);
    queue_.clear();
    pumping_ = false;
}

}  // namespace cvgate::clients::amqp::impl
