#include <cvgate/clients/amqp/publisher.hpp>

#include <cvgate/clients/amqp/impl/pump.hpp>
#include <cvgate/exec/offload.hpp>

#include <boost/asio/post.hpp>

#include <utility>

namespace cvgate::clients::amqp {

namespace asio = boost::asio;
using impl::Operation;

namespace {

// One call: queued for the pump (kept alive by `pump` while it runs), given up at `deadline`,
// told to the observer under the operation's name.
asio::awaitable<void> call(std::shared_ptr<impl::Pump> pump, std::shared_ptr<Operation> op,
                           std::string_view operation, exec::Deadline deadline) {
    co_await observed(pump->options().observer, operation, {},
                      exec::with_deadline(pump->run(std::move(op)), deadline));
}

}  // namespace

Publisher::Publisher(exec::BlockingPool& pool, std::string_view url, PublisherOptions options)
    : pump_{std::make_shared<impl::Pump>(pool, impl::parse_endpoint(url), std::move(options))} {}

Publisher::~Publisher() {
    if (pump_) {
        auto strand = pump_->strand();
        asio::post(strand, [pump = std::move(pump_)] { pump->shutdown(); });
    }
}

asio::awaitable<void> Publisher::publish(Message message, exec::Deadline deadline) {
    const auto timeout = pump_->options().confirm_timeout;
    auto op = std::make_shared<Operation>(Operation::Kind::publish, timeout);
    op->message = std::move(message);
    co_await call(pump_, std::move(op), "publish", deadline.or_after(timeout));
}

asio::awaitable<void> Publisher::declare_queue(std::string name) {
    const auto timeout = pump_->options().rpc_timeout;
    auto op = std::make_shared<Operation>(Operation::Kind::declare_queue, timeout);
    op->queue = std::move(name);
    co_await call(pump_, std::move(op), "declare_queue", exec::Deadline::after(timeout));
}

asio::awaitable<void> Publisher::ping(exec::Deadline deadline) {
    const auto timeout = pump_->options().rpc_timeout;
    auto op = std::make_shared<Operation>(Operation::Kind::ping, timeout);
    co_await call(pump_, std::move(op), "ping", deadline.or_after(timeout));
}

asio::awaitable<void> Publisher::close() {
    auto pump = pump_;
    auto shutdown = [pump] { pump->shutdown(); };  // named: see the GCC 12 note in exec/offload.hpp
    co_await exec::offload(pump->strand(), std::move(shutdown));
}

}  // namespace cvgate::clients::amqp
