#pragma once
// The job queue (`JOBS_QUEUE` on the default exchange) as the domain's JobQueue, on the
// confirm-mode publisher: persistent, mandatory, JSON, the job's correlation id, a fresh
// message id, and the request's trace (`traceparent`, `tracestate`) in the headers.

#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/jobs/ports.hpp>

#include <atomic>

namespace cvgate::adapters {

class AmqpJobQueue final : public jobs::JobQueue {
public:
    AmqpJobQueue(clients::amqp::Publisher& publisher, std::string queue)
        : publisher_{publisher}, queue_{std::move(queue)} {}

    jobs::Task<void> publish(const boost::json::object& message, std::string_view correlation_id,
                             const ids::TraceContext& trace) override;
    jobs::Task<void> ping() override;

private:
    jobs::Task<void> ensure_queue();

    clients::amqp::Publisher& publisher_;
    std::string queue_;
    std::atomic<bool> declared_{false};
};

}  // namespace cvgate::adapters
