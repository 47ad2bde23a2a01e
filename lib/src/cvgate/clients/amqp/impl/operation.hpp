#pragma once
// One caller's request to the publisher's strand (publish, declare a queue, ping) and the way
// back to the caller. The strand settles it; the caller may give up first through its
// cancellation slot (a deadline: exec::with_deadline). Given up before it was sent, it is
// never sent: a certain failure. Given up after a publish was sent, it is *in doubt*: the
// caller resumes with a timeout carrying a Settlement, and the publish stays tracked until
// the broker's ack (succeeded), nack or the channel's loss (failed) resolves it.

#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/exec/settlement.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace cvgate::clients::amqp::impl {

class Operation : public std::enable_shared_from_this<Operation> {
public:
    enum class Kind { publish, declare_queue, ping };

    Operation(Kind kind, std::chrono::milliseconds timeout) : kind{kind}, timeout{timeout} {}

    const Kind kind;
    const std::chrono::milliseconds timeout;  // for the words of a timeout
    Message message;                          // publish
    std::string queue;                        // declare_queue

    // On the caller's executor, as the caller suspends: from then on settle() or the caller's
    // cancellation resumes it. `on_abandoned` runs there when the caller gave up.
    template <typename Handler>
    void arm(Handler handler, boost::asio::any_io_executor home, std::function<void()> on_abandoned) {
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        completion_ = std::make_unique<CompletionFor<Handler>>(std::move(handler));
        home_ = std::move(home);
        on_abandoned_ = std::move(on_abandoned);
        if (slot.is_connected()) {
            slot.assign([weak = weak_from_this()](boost::asio::cancellation_type type) {
                if (type == boost::asio::cancellation_type::none) return;
                if (auto self = weak.lock()) self->abandon();
            });
        }
    }

    // On the strand, just before sending: false when the caller gave up (do not send it).
    bool begin_send();
    // Any thread: the outcome. Resumes the caller, or resolves the settlement of an in-doubt
    // publish; later calls do nothing.
    void settle(std::exception_ptr error);
    // Nobody waits for it any more: neither its caller nor a settlement (drop it).
    bool finished() const;

private:
    enum class Phase { queued, sent, completed, abandoned, in_doubt, resolved };

    struct Completion {
        virtual ~Completion() = default;
        virtual void invoke(std::exception_ptr error) = 0;
    };
    template <typename Handler>
    struct CompletionFor final : Completion {
        explicit CompletionFor(Handler h) : handler{std::move(h)} {}
        void invoke(std::exception_ptr error) override {
            boost::asio::get_associated_cancellation_slot(handler).clear();
            std::move(handler)(error);
        }
        Handler handler;
    };

    void abandon();
    void complete(std::exception_ptr error);
    std::exception_ptr timeout_error(std::shared_ptr<exec::Settlement> settlement) const;

    mutable std::mutex mutex_;
    Phase phase_ = Phase::queued;
    std::shared_ptr<exec::Settlement> settlement_;
    std::unique_ptr<Completion> completion_;  // touched on home_ only
    boost::asio::any_io_executor home_;
    std::function<void()> on_abandoned_;
};

}  // namespace cvgate::clients::amqp::impl
