#include <cvgate/clients/amqp/impl/operation.hpp>

#include <cvgate/clients/client_error.hpp>

#include <boost/asio/post.hpp>

#include <functional>
#include <utility>

namespace cvgate::clients::amqp::impl {

void Operation::arm(Handler handler, boost::asio::any_io_executor home, std::function<void()> on_expired) {
    handler_.emplace(std::move(handler));
    home_ = std::move(home);
    timer_.emplace(home_, deadline);
    timer_->async_wait([self = shared_from_this(), on_expired = std::move(on_expired)](boost::system::error_code ec) {
        if (ec || !self->claim()) return;
        if (on_expired) on_expired();
        auto handler = std::move(*self->handler_);
        self->handler_.reset();
        std::move(handler)(self->timeout_error());
    });
}

void Operation::settle(std::exception_ptr error) {
    if (!claim()) return;
    auto handler = std::move(*handler_);
    handler_.reset();
    boost::asio::post(home_, [self = shared_from_this(), handler = std::move(handler), error]() mutable {
        self->timer_->cancel();
        std::move(handler)(error);
    });
}

std::exception_ptr Operation::timeout_error() const {
    const auto ms = std::to_string(timeout.count()) + " ms";
    const auto message = kind == Kind::publish ? "no publisher confirm within " + ms
                                               : "no answer from the broker within " + ms;
    return std::make_exception_ptr(ClientError{ErrorKind::timeout, "rabbitmq", message});
}

}  // namespace cvgate::clients::amqp::impl
