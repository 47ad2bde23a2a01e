#include "integration/queue_inspector.hpp"

#include "integration/stack_support.hpp"

#include <cvgate/clients/amqp/impl/endpoint.hpp>

#include <boost/json/parse.hpp>

#include <amqp.h>

#include <chrono>
#include <stdexcept>

namespace cvgate::test {

namespace amqp = clients::amqp::impl;
using namespace std::chrono_literals;

namespace {

amqp::ConnectionSettings settings(const std::string& name) {
    amqp::ConnectionSettings s;
    s.name = name;
    s.heartbeat = 0s;
    s.connect_timeout = 5s;
    s.rpc_timeout = 5s;
    return s;
}

void declare_durable(amqp_connection_state_t state, const std::string& queue, amqp_table_t arguments) {
    if (!amqp_queue_declare(state, 1, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0, arguments))
        throw std::runtime_error{"inspector: queue.declare failed"};
}

}  // namespace

QueueInspector::QueueInspector(const std::string& name)
    : connection_{amqp::parse_endpoint(stack_env().rabbitmq_url), settings(name)} {
    if (!amqp_channel_open(connection_.get(), 1)) throw std::runtime_error{"inspector: channel.open failed"};
}

void QueueInspector::declare(const std::string& queue) {
    declare_durable(connection_.get(), queue, amqp_empty_table);
}

void QueueInspector::declare_with_max_length(const std::string& queue) {
    amqp_table_entry_t entry;
    entry.key = amqp_cstring_bytes("x-max-length");
    entry.value.kind = AMQP_FIELD_KIND_I32;
    entry.value.value.i32 = 10;
    declare_durable(connection_.get(), queue, amqp_table_t{1, &entry});
}

void QueueInspector::delete_queue(const std::string& queue) {
    amqp_queue_delete(connection_.get(), 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
}

std::optional<std::string> QueuedMessage::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (key == name) return value;
    return std::nullopt;
}

std::optional<QueuedMessage> QueueInspector::get(const std::string& queue) {
    auto* state = connection_.get();
    amqp_rpc_reply_t reply = amqp_basic_get(state, 1, amqp_cstring_bytes(queue.c_str()), 1);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
        throw std::runtime_error{"inspector: basic.get failed: " + amqp::describe_reply(reply)};
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return std::nullopt;
    amqp_message_t message;
    reply = amqp_read_message(state, 1, &message, 0);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
        throw std::runtime_error{"inspector: cannot read the message"};
    QueuedMessage m;
    const auto& p = message.properties;
    m.body = amqp::to_string(message.body);
    if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) m.content_type = amqp::to_string(p.content_type);
    if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) m.correlation_id = amqp::to_string(p.correlation_id);
    if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) m.message_id = amqp::to_string(p.message_id);
    if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) m.delivery_mode = p.delivery_mode;
    static constexpr std::pair<amqp_flags_t, const char*> names[] = {
        {AMQP_BASIC_CONTENT_TYPE_FLAG, "content_type"},
        {AMQP_BASIC_CONTENT_ENCODING_FLAG, "content_encoding"},
        {AMQP_BASIC_HEADERS_FLAG, "headers"},
        {AMQP_BASIC_DELIVERY_MODE_FLAG, "delivery_mode"},
        {AMQP_BASIC_PRIORITY_FLAG, "priority"},
        {AMQP_BASIC_CORRELATION_ID_FLAG, "correlation_id"},
        {AMQP_BASIC_REPLY_TO_FLAG, "reply_to"},
        {AMQP_BASIC_EXPIRATION_FLAG, "expiration"},
        {AMQP_BASIC_MESSAGE_ID_FLAG, "message_id"},
        {AMQP_BASIC_TIMESTAMP_FLAG, "timestamp"},
        {AMQP_BASIC_TYPE_FLAG, "type"},
        {AMQP_BASIC_USER_ID_FLAG, "user_id"},
        {AMQP_BASIC_APP_ID_FLAG, "app_id"},
        {AMQP_BASIC_CLUSTER_ID_FLAG, "cluster_id"},
    };
    for (const auto& [flag, name] : names)
        if (p._flags & flag) m.properties.insert(name);
    if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < p.headers.num_entries; ++i) {
            const amqp_table_entry_t& e = p.headers.entries[i];
            const bool text = e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES;
            m.headers.emplace_back(
                amqp::to_string(e.key),
                text ? amqp::to_string(e.value.value.bytes) : "<kind " + std::to_string(e.value.kind) + ">");
        }
    }
    amqp_destroy_message(&message);
    amqp_maybe_release_buffers(state);
    boost::system::error_code ec;
    auto parsed = boost::json::parse(m.body, ec);
    if (!ec && parsed.is_object()) m.json = std::move(parsed.get_object());
    return m;
}

std::vector<QueuedMessage> QueueInspector::drain(const std::string& queue) {
    std::vector<QueuedMessage> all;
    while (auto m = get(queue)) all.push_back(std::move(*m));
    return all;
}

}  // namespace cvgate::test
