#include <cvgate/adapters/amqp_job_queue.hpp>

#include <cvgate/adapters/dependency_error.hpp>
#include <cvgate/clients/client_error.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/json/serialize.hpp>

namespace cvgate::adapters {
namespace {
constexpr auto job_queue = jobs::Dependency::job_queue;
}  // namespace

// Declared once, exactly as the pipeline declares it (durable, no arguments), so a publish
// never depends on which service started first. Declared again after a rejection, in case
// the queue was deleted.
jobs::Task<void> AmqpJobQueue::ensure_queue() {
    if (declared_.load()) co_return;
    co_await translated(job_queue, publisher_.declare_queue(queue_));
    declared_.store(true);
}

jobs::Task<void> AmqpJobQueue::publish(const boost::json::object& message, std::string_view correlation_id,
                                       const ids::TraceContext& trace) {
    co_await ensure_queue();
    clients::amqp::Message m;
    m.routing_key = queue_;
    m.body = boost::json::serialize(message);
    m.correlation_id = correlation_id;
    m.message_id = ids::uuid_v4();
    // W3C Trace Context over AMQP: the consumer's spans become children of cvgate's. Services
    // that do not trace ignore headers they do not know; body and properties stay as they were.
    if (!trace.empty()) {
        m.headers.emplace_back("traceparent", trace.traceparent());
        if (!trace.tracestate().empty()) m.headers.emplace_back("tracestate", trace.tracestate());
    }
    try {
        co_await publisher_.publish(std::move(m));
    } catch (const clients::ClientError& e) {
        if (e.kind() == clients::ErrorKind::rejected) declared_.store(false);
        throw dependency_error(job_queue, e);
    } catch (const exec::DeadlineExceeded& e) {
        throw dependency_error(job_queue, e);
    }
}

jobs::Task<void> AmqpJobQueue::ping() { co_await translated(job_queue, publisher_.ping()); }

}  // namespace cvgate::adapters
