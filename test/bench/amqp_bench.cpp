// Publishes per second with publisher confirms, against the broker at $RABBITMQ_URL:
// one caller awaiting each publish, then many concurrent callers with one publish on the
// wire at a time (max_in_flight = 1), then the same callers pipelined (confirms batched by
// the broker's `multiple` acks). Persistent messages of the job message's size to a durable
// queue, as in production. Prints numbers; never fails.
//
//   RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/ cvgate_amqp_bench [messages]

#include <cvgate/clients/amqp/impl/connection.hpp>
#include <cvgate/clients/amqp/impl/endpoint.hpp>
#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <amqp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace amqp = cvgate::clients::amqp;
using Clock = std::chrono::steady_clock;

// About the size of a job message with a few files.
std::string job_body(int i) {
    std::string body = R"({"job_id":"550e8400-e29b-41d4-a716-446655440000","correlation_id":"bench-)" +
                       std::to_string(i) + R"(","jd_text":")" + std::string(300, 'x') +
                       R"(","use_delay":true,"file_paths":[)";
    for (int f = 0; f < 3; ++f) {
        if (f) body += ",";
        body +=
            R"({"cv_id":"550e8400_00)" + std::to_string(f) +
            R"(","file_path":"/uploads/550e8400-e29b-41d4-a716-446655440000/550e8400_000.pdf","original_filename":"resume.pdf"})";
    }
    return body + R"(],"expected_file_count":3})";
}

struct Result {
    double seconds = 0;
    std::vector<double> latencies_ms;
    int failures = 0;
};

// `callers` coroutines share `messages` publishes; each records how long its publishes took.
Result run(amqp::Publisher& publisher, const std::string& queue, int messages, int callers) {
    Result result;
    result.latencies_ms.reserve(messages);
    asio::io_context io;
    int next = 0;
    auto caller = [&]() -> asio::awaitable<void> {
        while (next < messages) {
            const int i = next++;
            amqp::Message m;
            m.routing_key = queue;
            m.body = job_body(i);
            m.correlation_id = "bench-" + std::to_string(i);
            m.message_id = "bench-msg-" + std::to_string(i);
            const auto start = Clock::now();
            try {
                co_await publisher.publish(std::move(m));
            } catch (const std::exception& e) {
                if (result.failures++ == 0) std::fprintf(stderr, "publish failed: %s\n", e.what());
            }
            result.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        }
    };
    const auto start = Clock::now();
    for (int c = 0; c < callers; ++c) asio::co_spawn(io, caller(), asio::detached);
    io.run();
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void report(const char* name, int messages, int callers, const Result& r) {
    std::printf("%-34s %7d msgs %5d callers %8.2f s %9.0f msg/s  p50 %7.2f ms  p99 %7.2f ms  failed %d\n",
                name, messages, callers, r.seconds, messages / r.seconds, percentile(r.latencies_ms, 0.50),
                percentile(r.latencies_ms, 0.99), r.failures);
    std::fflush(stdout);
}

// The bench's own connection, to empty and delete its queue.
void queue_admin(const std::string& url, const std::string& queue, bool remove) {
    amqp::impl::ConnectionSettings settings;
    settings.name = "cvgate-bench-admin";
    amqp::impl::Connection connection{amqp::impl::parse_endpoint(url), settings};
    amqp_channel_open(connection.get(), 1);
    if (remove) {
        amqp_queue_delete(connection.get(), 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
    } else {
        amqp_queue_purge(connection.get(), 1, amqp_cstring_bytes(queue.c_str()));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const char* url = std::getenv("RABBITMQ_URL");
    if (!url || !*url) {
        std::fprintf(stderr, "set RABBITMQ_URL (amqp://user:pass@host:port/)\n");
        return 2;
    }
    const int messages = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20000;
    const std::string queue = "cvgate_bench_" + std::to_string(::getpid());

    cvgate::exec::BlockingPool pool{4};
    amqp::PublisherOptions pipelined;
    pipelined.connection_name = "cvgate-bench";
    amqp::PublisherOptions one_on_the_wire = pipelined;
    one_on_the_wire.max_in_flight = 1;
    amqp::Publisher publisher{pool, url, pipelined};
    amqp::Publisher serial_publisher{pool, url, one_on_the_wire};

    auto declare = asio::co_spawn(pool.executor(), publisher.declare_queue(queue), asio::use_future);
    declare.get();
    std::printf("queue %s, body %zu bytes, persistent, durable queue, confirms\n", queue.c_str(),
                job_body(0).size());

    // Warm-up: connections open, queue process running.
    run(publisher, queue, 200, 16);
    run(serial_publisher, queue, 50, 1);
    queue_admin(url, queue, false);

    const int sequential = std::min(messages, 3000);
    report("one at a time (await each)", sequential, 1, run(publisher, queue, sequential, 1));
    queue_admin(url, queue, false);
    for (int callers : {16, 64, 256}) {
        const int n = std::min(messages, 5000);
        report("concurrent, max_in_flight=1", n, callers, run(serial_publisher, queue, n, callers));
        queue_admin(url, queue, false);
    }
    for (int callers : {16, 64, 256, 1024}) {
        report("concurrent, pipelined", messages, callers, run(publisher, queue, messages, callers));
        queue_admin(url, queue, false);
    }

    auto close1 = asio::co_spawn(pool.executor(), publisher.close(), asio::use_future);
    auto close2 = asio::co_spawn(pool.executor(), serial_publisher.close(), asio::use_future);
    close1.get();
    close2.get();
    queue_admin(url, queue, true);
    return 0;
}
