#pragma once
// A stand-in for the parser, AI and results-storage services, so that a load run exercises
// the whole life of a job (submit, poll, sync, results) without them: it consumes cvgate's
// job messages from RabbitMQ, waits a configurable "processing" time, and writes one
// analysis (or, for a share of the CVs, an error entry) per file into the job's MongoDB
// document with status `complete`, as the results worker does (CONTRACT.md). Built on
// cvgate's own blocking pool and clients.

#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

namespace cvgate::load {

struct PipelineOptions {
    std::string amqp_url;
    std::string mongo_url;
    std::string mongo_db = "kandidate_db";
    std::string queue = "jobs_queue";
    std::chrono::milliseconds delay{2000};  // per job, ±50 % jitter
    double error_share = 0.05;              // CVs that end in `errors` instead of `results`
    unsigned prefetch = 512;
};

struct PipelineCounters {
    std::uint64_t messages = 0;  // job messages consumed
    std::uint64_t results = 0;   // analyses written
    std::uint64_t errors = 0;    // error entries written
    std::uint64_t stale = 0;     // messages for jobs no longer in MongoDB (e.g. an earlier run)
    std::uint64_t failures = 0;  // messages that could not be handled (bad JSON, MongoDB down)
};

class PipelineStandIn {
public:
    PipelineStandIn(boost::asio::any_io_executor io, exec::BlockingPool& pool, PipelineOptions options,
                    std::uint64_t seed);
    ~PipelineStandIn();

    // Connects (throws clients::ClientError when RabbitMQ or the URL is wrong), then consumes
    // until stop(); returns once every consumed message has been handled.
    boost::asio::awaitable<void> run();
    void stop() noexcept { stopping_ = true; }

    const PipelineCounters& counters() const noexcept { return counters_; }

private:
    struct Delivery {
        std::uint64_t tag = 0;
        std::string body;
    };
    struct Amqp;

    boost::asio::awaitable<void> handle(Delivery delivery);
    boost::json::object analysis(const boost::json::object& file);

    boost::asio::any_io_executor io_;
    exec::BlockingPool::strand_type strand_;
    PipelineOptions options_;
    clients::mongo::Client mongo_;
    std::shared_ptr<Amqp> amqp_;
    std::mt19937_64 rng_;
    bool stopping_ = false;
    std::size_t in_flight_ = 0;
    PipelineCounters counters_;
};

}  // namespace cvgate::load
