#include <cvgate/clients/amqp/impl/confirm_channel.hpp>

#include <cvgate/clients/client_error.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

namespace cvgate::clients::amqp::impl {
namespace {

std::exception_ptr error(ErrorKind kind, const std::string& message) {
    return std::make_exception_ptr(ClientError{kind, Dependency::rabbitmq, message});
}

// Channel errors that answer something this client asked for (no such exchange, a queue
// declared with other properties, access refused) rather than a broker in trouble.
ErrorKind kind_of_channel_close(std::uint16_t code) {
    switch (code) {
        case AMQP_ACCESS_REFUSED:
        case AMQP_NOT_FOUND:
        case AMQP_RESOURCE_LOCKED:
        case AMQP_PRECONDITION_FAILED:
            return ErrorKind::rejected;
        default:
            return ErrorKind::unavailable;
    }
}

amqp_bytes_t bytes(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }

std::string describe_exchange(const std::string& exchange) {
    return exchange.empty() ? "the default exchange" : "exchange '" + exchange + "'";
}

// A short non-blocking read; unlike a zero timeout, it lets rabbitmq-c notice that the
// broker's heartbeats have stopped.
constexpr timeval read_now{0, 1};

}  // namespace

ConfirmChannel::ConfirmChannel(const Endpoint& endpoint, const ConnectionSettings& settings)
    : connection_{endpoint, settings} {
    SettledList none;
    if (auto failure = ensure_channel(none)) std::rethrow_exception(failure);
}

bool ConfirmChannel::has_buffered_input() const noexcept {
    return usable() && (amqp_frames_enqueued(connection_.get()) || amqp_data_in_buffer(connection_.get()));
}

std::exception_ptr ConfirmChannel::ensure_channel(SettledList& out) {
    if (!usable()) return error(ErrorKind::unavailable, "the connection to the broker is lost");
    if (channel_ != 0) return nullptr;
    auto* state = connection_.get();
    const int max = amqp_get_channel_max(state);
    // A fresh number each time, so frames still on their way for a closed channel are
    // recognisably stale.
    last_channel_ = last_channel_ >= (max > 0 ? max : 65535) ? 1 : last_channel_ + 1;
    channel_ = last_channel_;
    if (!amqp_channel_open(state, channel_)) return rpc_failure("cannot open a channel", out);
    if (!amqp_confirm_select(state, channel_)) return rpc_failure("cannot select confirm mode", out);
    amqp_maybe_release_buffers_on_channel(state, channel_);
    next_tag_ = 1;
    return nullptr;
}

void ConfirmChannel::publish(const Waiter& op, SettledList& out) {
    if (auto failure = ensure_channel(out)) {
        out.push_back({op, failure});
        return;
    }
    const Message& m = op->message;
    amqp_basic_properties_t properties{};
    properties._flags = 0;
    if (!m.content_type.empty()) {
        properties._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
        properties.content_type = bytes(m.content_type);
    }
    if (m.persistent) {
        properties._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
        properties.delivery_mode = 2;
    }
    if (!m.correlation_id.empty()) {
        properties._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        properties.correlation_id = bytes(m.correlation_id);
    }
    if (!m.message_id.empty()) {
        properties._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        properties.message_id = bytes(m.message_id);
    }
    std::vector<amqp_table_entry_t> headers(m.headers.size());  // read by amqp_basic_publish only
    if (!m.headers.empty()) {
        for (std::size_t i = 0; i < m.headers.size(); ++i) {
            headers[i].key = bytes(m.headers[i].first);
            headers[i].value.kind = AMQP_FIELD_KIND_UTF8;
            headers[i].value.value.bytes = bytes(m.headers[i].second);
        }
        properties._flags |= AMQP_BASIC_HEADERS_FLAG;
        properties.headers = amqp_table_t{static_cast<int>(headers.size()), headers.data()};
    }
    const int status =
        amqp_basic_publish(connection_.get(), channel_, bytes(m.exchange), bytes(m.routing_key),
                           m.mandatory ? 1 : 0, 0, &properties, bytes(m.body));
    if (status != AMQP_STATUS_OK) {
        const auto detail = "cannot send: " + describe_status(status);
        connection_lost(detail, out);
        out.push_back({op, error(ErrorKind::unavailable, detail)});
        return;
    }
    tracker_.add(next_tag_++, op, m.exchange, m.routing_key, m.message_id);
}

void ConfirmChannel::declare_queue(const Waiter& op, SettledList& out) {
    if (auto failure = ensure_channel(out)) {
        out.push_back({op, failure});
        return;
    }
    // durable, not exclusive, not auto-delete, no arguments: as the pipeline declares it
    if (!amqp_queue_declare(connection_.get(), channel_, bytes(op->queue), 0, 1, 0, 0, amqp_empty_table)) {
        out.push_back({op, rpc_failure("cannot declare queue '" + op->queue + "'", out)});
        return;
    }
    amqp_maybe_release_buffers_on_channel(connection_.get(), channel_);
    out.push_back({op, nullptr});
}

void ConfirmChannel::ping(const Waiter& op, SettledList& out) {
    read_available(out);
    if (auto failure = ensure_channel(out)) {
        out.push_back({op, failure});
        return;
    }
    // basic.qos with no limits changes nothing for a publishing channel: a cheap round trip.
    if (!amqp_basic_qos(connection_.get(), channel_, 0, 0, 0)) {
        out.push_back({op, rpc_failure("no answer to a ping", out)});
        return;
    }
    amqp_maybe_release_buffers_on_channel(connection_.get(), channel_);
    out.push_back({op, nullptr});
}

void ConfirmChannel::read_available(SettledList& out) {
    while (usable()) {
        amqp_frame_t frame;
        const int status = amqp_simple_wait_frame_noblock(connection_.get(), &frame, &read_now);
        if (status == AMQP_STATUS_TIMEOUT) return;
        if (status != AMQP_STATUS_OK) {
            connection_lost(describe_status(status), out);
            return;
        }
        handle(frame, out);
        if (usable()) amqp_maybe_release_buffers_on_channel(connection_.get(), frame.channel);
    }
}

void ConfirmChannel::read_queued(SettledList& out) {
    while (usable() && amqp_frames_enqueued(connection_.get())) {
        amqp_frame_t frame;
        if (amqp_simple_wait_frame_noblock(connection_.get(), &frame, &read_now) != AMQP_STATUS_OK) return;
        handle(frame, out);
    }
}

void ConfirmChannel::forget_settled() {
    tracker_.forget_if([](const Waiter& waiter) { return waiter->finished(); });
}

// The publishes sent and not confirmed when the channel or connection went: the broker may
// have routed them (its confirm lost on the way), so each fails *in doubt*, with a settlement
// already resolved as failed — nothing more will be heard of them (CONTRACT.md: channel lost
// → rolled back, logged as an in-doubt outcome with the job id).
void ConfirmChannel::fail_in_flight(ErrorKind kind, const std::string& message, SettledList& out) {
    auto waiters = tracker_.take_all();
    if (waiters.empty()) return;
    auto settlement = std::make_shared<exec::Settlement>();
    settlement->resolve(exec::Settlement::Outcome::failed);
    const auto failure =
        std::make_exception_ptr(ClientError::in_doubt(Dependency::rabbitmq, message, settlement, kind));
    for (auto& waiter : waiters) out.push_back({std::move(waiter), failure});
}

void ConfirmChannel::handle(const amqp_frame_t& frame, SettledList& out) {
    switch (frame.frame_type) {
        case AMQP_FRAME_METHOD:
            handle_method(frame.channel, frame.payload.method, out);
            return;
        case AMQP_FRAME_HEADER: {
            if (!returning_ || frame.channel != channel_ || returning_->header_seen) return;
            const auto* properties =
                static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
            const auto message_id = properties && (properties->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
                                        ? to_string(properties->message_id)
                                        : std::string{};
            tracker_.mark_returned(returning_->exchange, returning_->routing_key, message_id,
                                   std::move(returning_->reason));
            returning_->header_seen = true;
            returning_->body_left = frame.payload.properties.body_size;
            if (returning_->body_left == 0) returning_.reset();
            return;
        }
        case AMQP_FRAME_BODY: {
            if (!returning_ || frame.channel != channel_) return;
            const auto len = frame.payload.body_fragment.len;
            returning_->body_left -= std::min<std::uint64_t>(returning_->body_left, len);
            if (returning_->body_left == 0) returning_.reset();
            return;
        }
        default:
            return;
    }
}

void ConfirmChannel::handle_method(amqp_channel_t channel, const amqp_method_t& method, SettledList& out) {
    if (channel == 0) {
        if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
            const auto detail = "connection closed by the broker: " + std::to_string(close->reply_code) +
                                " " + to_string(close->reply_text);
            amqp_connection_close_ok_t ok{};
            amqp_send_method(connection_.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
            connection_lost(detail, out);
        }
        // connection.blocked/unblocked need nothing: deadlines and the stall watchdog cover a
        // broker that stops reading.
        return;
    }
    if (channel != channel_) return;  // left over from a closed channel

    std::vector<ConfirmTracker<Waiter>::Settled> done;
    switch (method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
            tracker_.ack(ack->delivery_tag, ack->multiple, done);
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
            tracker_.nack(nack->delivery_tag, nack->multiple, done);
            break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
            const auto* ret = static_cast<const amqp_basic_return_t*>(method.decoded);
            Return r;
            r.exchange = to_string(ret->exchange);
            r.routing_key = to_string(ret->routing_key);
            r.reason = "unroutable: " + describe_exchange(r.exchange) + " routes routing key '" +
                       r.routing_key + "' to no queue (" + std::to_string(ret->reply_code) + " " +
                       to_string(ret->reply_text) + ")";
            returning_ = std::move(r);
            break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD: {
            const auto* close = static_cast<const amqp_channel_close_t*>(method.decoded);
            channel_closed(close->reply_code,
                           "channel closed by the broker: " + std::to_string(close->reply_code) + " " +
                               to_string(close->reply_text),
                           out);
            break;
        }
        case AMQP_CHANNEL_FLOW_METHOD: {
            amqp_channel_flow_ok_t ok{};
            ok.active = static_cast<const amqp_channel_flow_t*>(method.decoded)->active;
            if (amqp_send_method(connection_.get(), channel_, AMQP_CHANNEL_FLOW_OK_METHOD, &ok) !=
                AMQP_STATUS_OK) {
                connection_lost("cannot answer channel.flow", out);
            }
            break;
        }
        default:
            break;
    }
    for (auto& settled : done) {
        using Outcome = ConfirmTracker<Waiter>::Outcome;
        std::exception_ptr failure;
        if (settled.outcome == Outcome::returned) failure = error(ErrorKind::rejected, settled.reason);
        if (settled.outcome == Outcome::nacked)
            failure = error(ErrorKind::rejected, "the broker nacked the message");
        out.push_back({std::move(settled.waiter), failure});
    }
}

std::exception_ptr ConfirmChannel::rpc_failure(const std::string& what, SettledList& out) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(connection_.get());
    const auto detail = what + ": " + describe_reply(reply);
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto code = static_cast<const amqp_channel_close_t*>(reply.reply.decoded)->reply_code;
        read_queued(out);  // confirms that came in before the close still count
        channel_closed(code, detail, out);
        return error(kind_of_channel_close(code), detail);
    }
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t ok{};
        amqp_send_method(connection_.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    }
    connection_lost(detail, out);
    const bool timed_out =
        reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT;
    return error(timed_out ? ErrorKind::timeout : ErrorKind::unavailable, detail);
}

void ConfirmChannel::channel_closed(std::uint16_t code, const std::string& detail, SettledList& out) {
    amqp_channel_close_ok_t ok{};
    if (amqp_send_method(connection_.get(), channel_, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) {
        connection_lost(detail, out);
        return;
    }
    fail_in_flight(kind_of_channel_close(code), "unconfirmed when the " + detail, out);
    amqp_maybe_release_buffers_on_channel(connection_.get(), channel_);
    returning_.reset();
    channel_ = 0;
}

void ConfirmChannel::connection_lost(const std::string& detail, SettledList& out) {
    connection_.mark_broken();
    fail_in_flight(ErrorKind::unavailable, "connection lost before the broker confirmed: " + detail, out);
    returning_.reset();
    channel_ = 0;
}

}  // namespace cvgate::clients::amqp::impl
