#pragma once
// Publishes to RabbitMQ with publisher confirms over one long-lived connection shared by
// every caller; reconnects on its own after the broker goes away. The public face, free of
// rabbitmq-c; the machinery (the strand's pump, the confirm channel) is internal:
// lib/src/cvgate/clients/amqp/impl/, pump.hpp first.

#include <cvgate/clients/call_observer.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/exec/deadline.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cvgate::clients::amqp {

namespace impl {
class Pump;
}

struct Message {
    std::string exchange;  // "": the default exchange, which routes by queue name
    std::string routing_key;
    std::string body;
    std::string content_type = "application/json";
    std::string correlation_id;
    std::string message_id;
    // Application headers (the `headers` property, a table of long strings); none: no table.
    std::vector<std::pair<std::string, std::string>> headers;
    bool persistent = true;  // delivery_mode 2
    bool mandatory = true;   // an unroutable message fails with `rejected` instead of vanishing
};

struct PublisherOptions {
    std::chrono::milliseconds connect_timeout{5000};  // TCP connect and AMQP handshake
    std::chrono::milliseconds confirm_timeout{5000};  // publish(): from the call to the broker's confirm
    std::chrono::milliseconds rpc_timeout{5000};      // declare_queue(), ping(), channel set-up
    std::chrono::seconds heartbeat{30};               // 0: no heartbeats
    // After a failed connect, calls fail at once (`unavailable`) until the next attempt is
    // due; the wait doubles from min to max and resets on success.
    std::chrono::milliseconds reconnect_backoff_min{100};
    std::chrono::milliseconds reconnect_backoff_max{5000};
    // Publishes sent but not yet confirmed; 1 sends one at a time.
    std::size_t max_in_flight = 1024;
    std::string connection_name = "cvgate";  // shown by `rabbitmqctl list_connections user_provided_name`
    // Told of every call (publish, declare_queue, ping) as it ends, for the caller; none: nobody is.
    CallObserver observer{};
};

class Publisher {
public:
    // Connects lazily, on the first call. `pool` must outlive the Publisher. Throws
    // std::invalid_argument for a malformed or amqps:// URL (the message never echoes it).
    Publisher(exec::BlockingPool& pool, std::string_view url, PublisherOptions options = {});
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;
    // Closes the connection on the pool in the background; close() does it while you wait.
    ~Publisher();

    // Returns once the broker has confirmed the message. Throws clients::ClientError:
    // `rejected` (nack, or unroutable with `mandatory`), `timeout` (no confirm by the deadline:
    // never: confirm_timeout from the call), `unavailable` (no connection, or it broke before
    // the confirm). A timeout after the message was sent is in doubt: it carries the
    // Settlement (exec/settlement.hpp) that the broker's late ack (succeeded), its nack or the
    // loss of the channel (failed) resolves.
    boost::asio::awaitable<void> publish(Message message, exec::Deadline deadline = {});

    // Declares a durable, non-exclusive, non-auto-delete queue with no arguments, exactly as
    // the pipeline does. A queue that exists with other properties fails with `rejected`.
    boost::asio::awaitable<void> declare_queue(std::string name);

    // Connects if need be and makes a round trip to the broker (for readiness checks).
    boost::asio::awaitable<void> ping(exec::Deadline deadline = {});

    // Fails what is still waiting with `unavailable` and closes the connection. Later calls
    // fail with `unavailable`.
    boost::asio::awaitable<void> close();

private:
    std::shared_ptr<impl::Pump> pump_;
};

}  // namespace cvgate::clients::amqp
