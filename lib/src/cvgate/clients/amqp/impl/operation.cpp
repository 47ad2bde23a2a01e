#include <cvgate/clients/amqp/impl/operation.hpp>

#include <cvgate/clients/client_error.hpp>

#include <boost/asio/post.hpp>

#include <utility>

namespace cvgate::clients::amqp::impl {

bool Operation::begin_send() {
    std::lock_guard lock{mutex_};
    if (phase_ != Phase::queued) return false;
    phase_ = Phase::sent;
    return true;
}

void Operation::settle(std::exception_ptr error) {
    std::shared_ptr<exec::Settlement> settlement;
    {
        std::lock_guard lock{mutex_};
        switch (phase_) {
            case Phase::queued:
            case Phase::sent:
                phase_ = Phase::completed;
                break;
            case Phase::in_doubt:
                phase_ = Phase::resolved;
                settlement = settlement_;
                break;
            default:
                return;
        }
    }
    if (settlement) {
        settlement->resolve(error ? exec::Settlement::Outcome::failed : exec::Settlement::Outcome::succeeded);
        return;
    }
    boost::asio::post(home_, [self = shared_from_this(), error] { self->complete(error); });
}

bool Operation::finished() const {
    std::lock_guard lock{mutex_};
    return phase_ == Phase::completed || phase_ == Phase::abandoned || phase_ == Phase::resolved;
}

// On the caller's executor.
void Operation::abandon() {
    std::shared_ptr<exec::Settlement> in_doubt;
    {
        std::lock_guard lock{mutex_};
        if (phase_ == Phase::queued) {
            phase_ = Phase::abandoned;
        } else if (phase_ == Phase::sent && kind == Kind::publish) {
            phase_ = Phase::in_doubt;
            in_doubt = settlement_ = std::make_shared<exec::Settlement>();
        } else if (phase_ == Phase::sent) {
            phase_ = Phase::abandoned;  // a declare or a ping changes nothing worth settling
        } else {
            return;
        }
    }
    if (on_abandoned_) on_abandoned_();
    boost::asio::post(home_, [self = shared_from_this(), error = timeout_error(std::move(in_doubt))] {
        self->complete(error);
    });
}

// On the caller's executor, once: the strand may hold the Operation for a while yet.
void Operation::complete(std::exception_ptr error) {
    home_ = {};
    on_abandoned_ = nullptr;
    auto completion = std::move(completion_);
    completion->invoke(error);
}

std::exception_ptr Operation::timeout_error(std::shared_ptr<exec::Settlement> settlement) const {
    const auto ms = std::to_string(timeout.count()) + " ms";
    if (settlement)
        return std::make_exception_ptr(ClientError::in_doubt(
            Dependency::rabbitmq, "no publisher confirm within " + ms + "; the publish is in doubt",
            std::move(settlement)));
    const auto message =
        kind == Kind::publish ? "not sent within " + ms : "no answer from the broker within " + ms;
    return std::make_exception_ptr(ClientError{ErrorKind::timeout, Dependency::rabbitmq, message});
}

}  // namespace cvgate::clients::amqp::impl
