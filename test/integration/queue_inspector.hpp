#pragma once
// A test's own AMQP connection to the stack's RabbitMQ (never cvgate's publisher), to
// declare, read and delete queues and see exactly what arrived. Blocking; one thread.

#include <cvgate/clients/amqp/impl/connection.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cvgate::test {

struct QueuedMessage {
    std::string body;
    boost::json::object json;  // the body parsed, when it is a JSON object
    std::string content_type;
    std::string correlation_id;
    std::string message_id;
    int delivery_mode = 0;
    // The basic properties the message has, by name ("content_type", "headers", ...).
    std::set<std::string> properties;
    // The `headers` table in order: string values as they are, others as "<kind N>".
    std::vector<std::pair<std::string, std::string>> headers;
    // A header's value, or nullopt.
    std::optional<std::string> header(std::string_view name) const;
};

class QueueInspector {
public:
    // Connects to stack_env().rabbitmq_url; `name` is shown by rabbitmqctl.
    explicit QueueInspector(const std::string& name = "cvgate-it-inspector");

    // Durable, no arguments: exactly as the pipeline (and cvgate) declare it.
    void declare(const std::string& queue);
    // Durable with x-max-length 10: an argument the publisher does not ask for.
    void declare_with_max_length(const std::string& queue);
    void delete_queue(const std::string& queue);

    // basic.get with auto-ack: the next message, or nothing when the queue is empty.
    std::optional<QueuedMessage> get(const std::string& queue);
    // Every message waiting, consumed.
    std::vector<QueuedMessage> drain(const std::string& queue);

private:
    clients::amqp::impl::Connection connection_;
};

}  // namespace cvgate::test
