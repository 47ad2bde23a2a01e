#pragma once
// One caller's request to the publisher's strand (publish, declare a queue, ping) and the
// way back to the caller. Whichever comes first of "the strand settled it" and "its deadline
// passed" completes the awaiting coroutine, on the caller's own executor; the other finds
// it already settled.

#include <cvgate/clients/amqp/publisher.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cvgate::clients::amqp::impl {

class Operation : public std::enable_shared_from_this<Operation> {
public:
    enum class Kind { publish, declare_queue, ping };

    Operation(Kind kind, std::chrono::milliseconds timeout)
        : kind{kind}, timeout{timeout}, deadline{std::chrono::steady_clock::now() + timeout} {}

    const Kind kind;
    const std::chrono::milliseconds timeout;
    const std::chrono::steady_clock::time_point deadline;
    Message message;    // publish
    std::string queue;  // declare_queue

    // On the caller's executor, as the caller suspends: from then on settle() or the
    // deadline resumes it. `on_expired` runs there after a timeout.
    template <typename Handler>
    void arm(Handler handler, boost::asio::any_io_executor home, std::function<void()> on_expired) {
        completion_ = std::make_unique<CompletionFor<Handler>>(std::move(handler));
        start_timer(std::move(home), std::move(on_expired));
    }

    // Any thread: resumes the caller with `error` (null: success) unless already settled.
    void settle(std::exception_ptr error);
    bool settled() const noexcept { return claimed_.load(std::memory_order_acquire); }

private:
    // The caller's completion handler, type-erased. (Boost 1.81's any_completion_handler
    // corrupted the recycled memory of a pending timer here.)
    struct Completion {
        virtual ~Completion() = default;
        virtual void invoke(std::exception_ptr error) = 0;
    };
    template <typename Handler>
    struct CompletionFor final : Completion {
        explicit CompletionFor(Handler h) : handler{std::move(h)} {}
        void invoke(std::exception_ptr error) override { std::move(handler)(error); }
        Handler handler;
    };

    void start_timer(boost::asio::any_io_executor home, std::function<void()> on_expired);
    void complete(std::exception_ptr error);
    bool claim() noexcept { return !claimed_.exchange(true, std::memory_order_acq_rel); }
    std::exception_ptr timeout_error() const;

    std::atomic<bool> claimed_{false};
    std::unique_ptr<Completion> completion_;
    boost::asio::any_io_executor home_;
    std::optional<boost::asio::steady_timer> timer_;
};

}  // namespace cvgate::clients::amqp::impl
