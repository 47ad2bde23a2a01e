#pragma once
// A channel in confirm mode on its own connection: sends basic.publish and matches the
// broker's basic.ack, basic.nack and basic.return to the publishes they answer; also the
// synchronous methods the publisher needs (queue.declare, a round trip for ping). Blocking,
// used from the publisher's strand only. Nothing throws after construction: every outcome,
// success or failure, comes back as a Settled entry for the strand to hand to its caller.

#include <cvgate/clients/amqp/impl/confirm_tracker.hpp>
#include <cvgate/clients/amqp/impl/connection.hpp>
#include <cvgate/clients/amqp/impl/operation.hpp>
#include <cvgate/clients/client_error.hpp>

#include <amqp.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cvgate::clients::amqp::impl {

class ConfirmChannel {
public:
    using Waiter = std::shared_ptr<Operation>;
    struct Settled {
        Waiter waiter;
        std::exception_ptr error;  // null: done (for a publish: confirmed)
    };
    using SettledList = std::vector<Settled>;

    // Connects, logs in, opens a channel and selects confirm mode. Throws ClientError.
    ConfirmChannel(const Endpoint& endpoint, const ConnectionSettings& settings);

    // False once the connection broke: drop this object; a new one reconnects. (A channel
    // the broker closed is reopened on the next call.)
    bool usable() const noexcept { return !connection_.broken(); }
    int fd() const noexcept { return connection_.fd(); }
    // Input already read from the socket, which poll() will not announce again.
    bool has_buffered_input() const noexcept;
    std::size_t in_flight() const noexcept { return tracker_.size(); }

    // Sends the publish; its confirm arrives through a later read_available().
    void publish(const Waiter& op, SettledList& out);
    void declare_queue(const Waiter& op, SettledList& out);
    void ping(const Waiter& op, SettledList& out);

    // Handles every frame that can be read without waiting, and sends a heartbeat if one
    // is due (or notices the broker's have stopped).
    void read_available(SettledList& out);

    // In-flight publishes nobody waits for any more are forgotten; their late confirms will
    // be ignored. One in doubt stays until its confirm or the channel's loss settles it.
    void forget_settled();
    void fail_in_flight(ErrorKind kind, const std::string& message, SettledList& out);

private:
    struct Return {  // a basic.return being read: method, then content header, then body
        std::string exchange;
        std::string routing_key;
        std::string reason;
        std::uint64_t body_left = 0;
        bool header_seen = false;
    };

    std::exception_ptr ensure_channel(SettledList& out);
    std::exception_ptr rpc_failure(const std::string& what, SettledList& out);
    void handle(const amqp_frame_t& frame, SettledList& out);
    void handle_method(amqp_channel_t channel, const amqp_method_t& method, SettledList& out);
    void channel_closed(std::uint16_t code, const std::string& detail, SettledList& out);
    void connection_lost(const std::string& detail, SettledList& out);
    void read_queued(SettledList& out);

    Connection connection_;
    amqp_channel_t channel_ = 0;  // 0: none open
    amqp_channel_t last_channel_ = 0;
    std::uint64_t next_tag_ = 1;
    ConfirmTracker<Waiter> tracker_;
    std::optional<Return> returning_;
};

}  // namespace cvgate::clients::amqp::impl
