#include "pipeline.hpp"

#include <cvgate/clients/amqp/impl/connection.hpp>
#include <cvgate/clients/amqp/impl/endpoint.hpp>
#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/offload.hpp>

#include <amqp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <array>
#include <optional>
#include <vector>

namespace cvgate::load {

namespace asio = boost::asio;
namespace json = boost::json;
namespace amqp = clients::amqp::impl;

namespace {

constexpr int channel = 1;

clients::mongo::Options mongo_options(const PipelineOptions& o) {
    clients::mongo::Options m;
    m.url = o.mongo_url;
    m.database = o.mongo_db;
    m.app_name = "cvgate-load-pipeline";
    return m;
}

void check(const amqp_rpc_reply_t& reply, const char* what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
        throw clients::ClientError{clients::ErrorKind::unavailable, clients::Dependency::rabbitmq,
                                   std::string{what} + ": " + amqp::describe_reply(reply)};
}

constexpr std::array<const char*, 10> skills{"C++",        "Python", "PostgreSQL", "MongoDB", "RabbitMQ",
                                             "Kubernetes", "Docker", "Boost.Asio", "FastAPI", "Prometheus"};

}  // namespace

// The consumer's connection; touched only on the strand.
struct PipelineStandIn::Amqp {
    explicit Amqp(const std::string& url) : connection{amqp::parse_endpoint(url), settings()} {}
    static amqp::ConnectionSettings settings() {
        amqp::ConnectionSettings s;
        s.name = "cvgate-load-pipeline";
        return s;
    }
    amqp::Connection connection;
};

PipelineStandIn::PipelineStandIn(asio::any_io_executor io, exec::BlockingPool& pool, PipelineOptions options,
                                 std::uint64_t seed)
    : io_{std::move(io)},
      strand_{pool.make_strand()},
      options_{std::move(options)},
      mongo_{mongo_options(options_), pool.executor()},
      rng_{seed} {}

PipelineStandIn::~PipelineStandIn() = default;

asio::awaitable<void> PipelineStandIn::run() {
    auto connect = [url = options_.amqp_url, queue = options_.queue, prefetch = options_.prefetch] {
        auto a = std::make_shared<Amqp>(url);
        amqp_connection_state_t s = a->connection.get();
        amqp_channel_open(s, channel);
        check(amqp_get_rpc_reply(s), "channel.open");
        // Declared as cvgate declares it (durable, no arguments), so either may come first.
        amqp_queue_declare(s, channel, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0, amqp_empty_table);
        check(amqp_get_rpc_reply(s), "queue.declare");
        amqp_basic_qos(s, channel, 0, static_cast<std::uint16_t>(prefetch), 0);
        check(amqp_get_rpc_reply(s), "basic.qos");
        amqp_basic_consume(s, channel, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        check(amqp_get_rpc_reply(s), "basic.consume");
        return a;
    };
    amqp_ = co_await exec::offload(strand_, std::move(connect));

    while (!stopping_) {
        // Waits up to 100 ms for a first delivery, then takes whatever else is already there.
        auto receive = [a = amqp_] {
            std::vector<Delivery> out;
            amqp_connection_state_t s = a->connection.get();
            for (timeval tv{0, 100'000}; out.size() < 256; tv = timeval{0, 0}) {
                amqp_maybe_release_buffers(s);
                amqp_envelope_t envelope;
                amqp_rpc_reply_t reply = amqp_consume_message(s, &envelope, &tv, 0);
                if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                    reply.library_error == AMQP_STATUS_TIMEOUT)
                    break;
                check(reply, "basic.consume");
                out.push_back({envelope.delivery_tag, amqp::to_string(envelope.message.body)});
                amqp_destroy_envelope(&envelope);
            }
            return out;
        };
        auto batch = co_await exec::offload(strand_, std::move(receive));
        for (auto& delivery : batch) {
            ++in_flight_;
            asio::co_spawn(io_, handle(std::move(delivery)), asio::detached);
        }
    }
    asio::steady_timer tick{io_};
    while (in_flight_ > 0) {
        tick.expires_after(std::chrono::milliseconds{20});
        co_await tick.async_wait(asio::use_awaitable);
    }
    auto cancel = [a = amqp_] { amqp_channel_close(a->connection.get(), channel, AMQP_REPLY_SUCCESS); };
    co_await exec::offload(strand_, std::move(cancel));
}

json::object PipelineStandIn::analysis(const json::object& file) {
    const auto score = static_cast<std::int64_t>(rng_() % 101);
    const char* recommendation = score >= 80   ? "Strong Hire"
                                 : score >= 65 ? "Hire"
                                 : score >= 50 ? "Maybe"
                                               : "No Hire";
    json::array picked;
    for (const char* skill : skills)
        if (rng_() % 3 == 0) picked.emplace_back(skill);
    const std::string cv_id{file.at("cv_id").as_string()};
    return json::object{{"cv_id", cv_id},
                        {"original_filename", file.at("original_filename")},
                        {"candidate_name", "Candidate " + cv_id},
                        {"email", cv_id + "@example.com"},
                        {"phone", "+41 44 000 00 00"},
                        {"match_score", score},
                        {"recommendation", recommendation},
                        {"skills", std::move(picked)},
                        {"experience_years", static_cast<std::int64_t>(rng_() % 20)},
                        {"education", "MSc Computer Science"},
                        {"summary_headline", "Backend engineer"},
                        {"key_strengths", json::array{"Distributed systems", "Observability"}},
                        {"concerns", json::array{}}};
}

asio::awaitable<void> PipelineStandIn::handle(Delivery delivery) {
    bool ok = false;
    try {
        const auto jitter = std::uniform_real_distribution<double>{0.5, 1.5}(rng_);
        asio::steady_timer work{
            io_, std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.delay * jitter)};
        co_await work.async_wait(asio::use_awaitable);

        const json::object message = json::parse(delivery.body).as_object();
        json::array results, errors;
        for (const auto& f : message.at("file_paths").as_array()) {
            const json::object& file = f.as_object();
            if (std::bernoulli_distribution{options_.error_share}(rng_))
                errors.push_back(json::object{{"cv_id", file.at("cv_id")},
                                              {"filename", file.at("original_filename")},
                                              {"error", "Could not extract text from the document"}});
            else
                results.push_back(analysis(file));
        }
        const std::size_t n_results = results.size(), n_errors = errors.size();
        json::object push;
        if (n_results) push["results"] = json::object{{"$each", std::move(results)}};
        if (n_errors) push["errors"] = json::object{{"$each", std::move(errors)}};
        json::object filter{{"_id", message.at("job_id")}};
        json::object update{{"$push", std::move(push)}, {"$set", json::object{{"status", "complete"}}}};
        ++counters_.messages;
        std::string collection = "jobs";
        const auto updated =
            co_await mongo_.update_one(std::move(collection), std::move(filter), std::move(update));
        if (updated.matched == 0) {
            ++counters_.stale;
        } else {
            counters_.results += n_results;
            counters_.errors += n_errors;
        }
        ok = true;
    } catch (const std::exception&) {
        ++counters_.failures;
    }
    try {
        // Acknowledged either way: a stand-in never redelivers.
        auto ack = [a = amqp_, tag = delivery.tag] { amqp_basic_ack(a->connection.get(), channel, tag, 0); };
        co_await exec::offload(strand_, std::move(ack));
    } catch (const std::exception&) {
        if (ok) ++counters_.failures;
    }
    --in_flight_;
}

}  // namespace cvgate::load
