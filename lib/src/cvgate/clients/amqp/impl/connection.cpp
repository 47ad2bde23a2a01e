#include <cvgate/clients/amqp/impl/connection.hpp>

#include <cvgate/clients/client_error.hpp>

#include <amqp_tcp_socket.h>

#include <algorithm>

namespace cvgate::clients::amqp::impl {
namespace {

ClientError unavailable(const std::string& message) {
    return ClientError{ErrorKind::unavailable, Dependency::rabbitmq, message};
}

std::chrono::microseconds remaining(std::chrono::steady_clock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::microseconds{1000});
}

}  // namespace

Connection::Connection(const Endpoint& endpoint, const ConnectionSettings& settings)
    : state_{amqp_new_connection()} {
    if (!state_) throw unavailable("cannot allocate a connection");
    amqp_socket_t* socket = amqp_tcp_socket_new(state_.get());
    if (!socket) throw unavailable("cannot allocate a socket");

    const auto deadline = std::chrono::steady_clock::now() + settings.connect_timeout;
    const auto where = endpoint.describe();
    timeval tv = to_timeval(settings.connect_timeout);
    if (int status = amqp_socket_open_noblock(socket, endpoint.host.c_str(), endpoint.port, &tv);
        status != AMQP_STATUS_OK) {
        broken_ = true;
        // rabbitmq-c reports a refused connection only as a socket error.
        const bool timed_out = status == AMQP_STATUS_TIMEOUT;
        throw ClientError{
            timed_out ? ErrorKind::timeout : ErrorKind::unavailable, Dependency::rabbitmq,
            "cannot connect to " + where + ": " + describe_status(status),
            timed_out ? Cause::timeout : cause_of_text(describe_status(status), Cause::refused)};
    }

    tv = to_timeval(remaining(deadline));
    amqp_set_handshake_timeout(state_.get(), &tv);
    timeval rpc = to_timeval(settings.rpc_timeout);
    amqp_set_rpc_timeout(state_.get(), &rpc);

    amqp_table_entry_t name_entry;
    name_entry.key = amqp_cstring_bytes("connection_name");
    name_entry.value.kind = AMQP_FIELD_KIND_UTF8;
    name_entry.value.value.bytes = amqp_cstring_bytes(settings.name.c_str());
    amqp_table_t properties{settings.name.empty() ? 0 : 1, &name_entry};

    const auto heartbeat =
        static_cast<int>(std::clamp<std::chrono::seconds::rep>(settings.heartbeat.count(), 0, 65535));
    amqp_rpc_reply_t reply = amqp_login_with_properties(
        state_.get(), endpoint.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat, &properties,
        AMQP_SASL_METHOD_PLAIN, endpoint.user.c_str(), endpoint.password.c_str());
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        broken_ = true;
        const bool timed_out =
            reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT;
        // The broker closes the connection on bad credentials (ACCESS_REFUSED, or just EOF).
        throw ClientError{timed_out ? ErrorKind::timeout : ErrorKind::unavailable, Dependency::rabbitmq,
                          "cannot log in to " + where + ": " + describe_reply(reply),
                          timed_out ? Cause::timeout : Cause::auth};
    }
}

Connection::~Connection() {
    if (!state_ || broken_) return;
    timeval tv{1, 0};  // a broker that does not answer a close is not worth waiting for
    amqp_set_rpc_timeout(state_.get(), &tv);
    amqp_connection_close(state_.get(), AMQP_REPLY_SUCCESS);
}

std::string to_string(amqp_bytes_t bytes) {
    return bytes.len ? std::string{static_cast<const char*>(bytes.bytes), bytes.len} : std::string{};
}

std::string describe_status(int status) { return amqp_error_string2(status); }

std::string describe_reply(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "no reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return describe_status(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch (reply.reply.id) {
                case AMQP_CONNECTION_CLOSE_METHOD: {
                    const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
                    return "connection closed by the broker: " + std::to_string(close->reply_code) + " " +
                           to_string(close->reply_text);
                }
                case AMQP_CHANNEL_CLOSE_METHOD: {
                    const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
                    return "channel closed by the broker: " + std::to_string(close->reply_code) + " " +
                           to_string(close->reply_text);
                }
                default:
                    return std::string{"unexpected method "} + amqp_method_name(reply.reply.id);
            }
    }
    return "unknown reply";
}

timeval to_timeval(std::chrono::microseconds duration) noexcept {
    const auto us = std::max<std::chrono::microseconds::rep>(duration.count(), 0);
    timeval tv;
    tv.tv_sec = static_cast<time_t>(us / 1'000'000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
    return tv;
}

}  // namespace cvgate::clients::amqp::impl
