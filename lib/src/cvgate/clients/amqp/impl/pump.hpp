#pragma once
// The publisher's machinery (clients/amqp/publisher.hpp is its public face). All use of the
// connection happens on one strand of the blocking pool. Callers queue operations (under a
// mutex) and suspend; one "pump" task on the strand sends whatever is queued, without waiting
// for earlier publishes to be confirmed, and then sleeps in poll() on the broker's socket and a
// wake-up eventfd until confirms arrive or more work is queued. It returns the thread to the
// pool once nothing is queued or in flight; while the connection is idle, a timer on the strand
// reads what the broker sends (heartbeats, a close) every few seconds, so a dead connection is
// noticed before the next publish.

#include <cvgate/clients/amqp/impl/confirm_channel.hpp>
#include <cvgate/clients/amqp/impl/endpoint.hpp>
#include <cvgate/clients/amqp/impl/operation.hpp>
#include <cvgate/clients/amqp/impl/stall_watchdog.hpp>
#include <cvgate/clients/amqp/impl/wake_signal.hpp>
#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

namespace cvgate::clients::amqp::impl {

class Pump : public std::enable_shared_from_this<Pump> {
public:
    Pump(exec::BlockingPool& pool, Endpoint endpoint, PublisherOptions options);

    const PublisherOptions& options() const noexcept { return options_; }
    exec::BlockingPool::strand_type strand() const { return strand_; }

    // Queues `op` for the strand and resumes once it is settled, or its caller gave up.
    boost::asio::awaitable<void> run(std::shared_ptr<Operation> op);

    // On the strand: fails what is queued or in flight with `unavailable` and closes the
    // connection; later operations fail at once. Idempotent.
    void shutdown();

private:
    void submit(std::shared_ptr<Operation> op);
    void on_abandoned();
    void pump();
    void pump_until_idle();
    void take_queued();
    void execute(const std::shared_ptr<Operation>& op);
    bool connect_for(Operation& op);
    void resume_settled();
    void settle();
    void drop_channel();
    void wait_for_input();
    std::chrono::milliseconds tick_interval() const;
    void arm_tick();
    void on_tick(boost::system::error_code ec);
    void fail_after(const std::exception_ptr& error);
    void fail_all(const std::exception_ptr& error, const std::string& in_doubt);

    const Endpoint endpoint_;
    const PublisherOptions options_;
    const ConnectionSettings settings_;
    exec::BlockingPool::strand_type strand_;
    WakeSignal wake_;
    StallWatchdog watchdog_;

    std::mutex mutex_;  // guards what follows up to the strand's own, which callers' threads touch
    std::deque<std::shared_ptr<Operation>> queue_;
    bool pumping_ = false;
    bool pump_asleep_ = false;  // in poll(): a new operation must wake it
    bool wake_sent_ = false;
    bool closed_ = false;

    // The strand's own.
    std::deque<std::shared_ptr<Operation>> backlog_;
    std::unique_ptr<ConfirmChannel> channel_;
    ConfirmChannel::SettledList settled_;
    std::chrono::steady_clock::time_point retry_at_{};
    std::chrono::milliseconds backoff_;
    std::string last_connect_error_;
    Cause last_connect_cause_ = Cause::error;  // why the last attempt failed, for the ones it refuses
    boost::asio::steady_timer tick_;
    bool ticking_ = false;
};

}  // namespace cvgate::clients::amqp::impl
