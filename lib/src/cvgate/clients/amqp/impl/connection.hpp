#pragma once
// One AMQP connection: the rabbitmq-c connection state and the TCP socket it owns, connected
// and logged in on construction, closed and freed on destruction. Blocking: only the strand
// that owns it may use it.

#include <cvgate/clients/amqp/impl/endpoint.hpp>

#include <amqp.h>

#include <chrono>
#include <memory>
#include <string>

namespace cvgate::clients::amqp::impl {

struct ConnectionSettings {
    std::chrono::milliseconds connect_timeout{5000};  // TCP connect and AMQP handshake together
    std::chrono::milliseconds rpc_timeout{5000};      // each synchronous AMQP method
    std::chrono::seconds heartbeat{30};               // 0: no heartbeats
    std::string name;                                 // `connection_name`, shown by rabbitmqctl
};

class Connection {
public:
    // Throws ClientError (unavailable) naming host and port, never the credentials.
    Connection(const Endpoint& endpoint, const ConnectionSettings& settings);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // Says connection.close (waiting at most a second) unless the connection is broken.
    ~Connection();

    amqp_connection_state_t get() const noexcept { return state_.get(); }
    int fd() const noexcept { return amqp_get_sockfd(state_.get()); }

    // After a socket error, a timeout or the broker's connection.close: nothing more may be
    // sent, and the destructor skips the close handshake.
    void mark_broken() noexcept { broken_ = true; }
    bool broken() const noexcept { return broken_; }

private:
    struct StateDeleter {
        // Also closes and frees the socket, which the state owns.
        void operator()(amqp_connection_state_t state) const noexcept { amqp_destroy_connection(state); }
    };
    std::unique_ptr<amqp_connection_state_t_, StateDeleter> state_;
    bool broken_ = false;
};

// Text for a rabbitmq-c status code or RPC reply: safe to log (the broker's reply text and
// the library's error strings never hold credentials).
std::string describe_status(int status);
std::string describe_reply(const amqp_rpc_reply_t& reply);
std::string to_string(amqp_bytes_t bytes);

timeval to_timeval(std::chrono::microseconds duration) noexcept;

}  // namespace cvgate::clients::amqp::impl
