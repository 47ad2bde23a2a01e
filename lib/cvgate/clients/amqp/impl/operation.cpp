#include <cvgate/clients/amqp/impl/operation.hpp>

#include <cvgate/clients/client_error.hpp>

#include <boost/asio/post.hpp>

#include <functional>
#include <utility>

namespace cvgate::clients::amqp::impl {

void Operation::start_timer(boost::asio::any_io_executor home, std::function<void()> on_expired) {
    home_ = std::move(home);
    timer_.emplace(home_, deadline);
    timer_->async_wait(
        [self = shared_from_this(), on_expired = std::move(on_expired)](boost::system::error_code ec) {
            if (ec || !self->claim()) return;
            if (on_expired) on_expired();
            self->complete(self->timeout_error());
        });
}

void Operation::settle(std::exception_ptr error) {
    if (!claim()) return;
    boost::asio::post(home_, [self = shared_from_this(), error] { self->complete(error); });
}

// On the caller's executor, once claimed. The timer goes here and now (its pending wait is
// cancelled): the strand may hold the Operation for a while yet, and the timer must not
// outlive the caller's io_context.
void Operation::complete(std::exception_ptr error) {
    timer_.reset();
    home_ = {};
    auto completion = std::move(completion_);
    completion->invoke(error);
}

std::exception_ptr Operation::timeout_error() const {
    const auto ms = std::to_string(timeout.count()) + " ms";
    const auto message = kind == Kind::publish ? "no publisher confirm within " + ms
                                               : "no answer from the broker within " + ms;
    return std::make_exception_ptr(ClientError{ErrorKind::timeout, "rabbitmq", message});
}

}  // namespace cvgate::clients::amqp::impl
