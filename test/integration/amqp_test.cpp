// The RabbitMQ publisher against a real broker: what arrives, how it is declared, how it
// fails, and how it comes back after the broker does.

#include "integration/queue_inspector.hpp"
#include "integration/stack_support.hpp"

#include <cvgate/clients/amqp/impl/connection.hpp>
#include <cvgate/clients/amqp/impl/endpoint.hpp>
#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <amqp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace amqp = cvgate::clients::amqp;
namespace test = cvgate::test;
using cvgate::clients::ClientError;
using cvgate::clients::ErrorKind;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Runs one coroutine to completion on an io_context of its own; rethrows what it threw.
template <typename T>
T run(asio::awaitable<T> work) {
    asio::io_context io;
    auto done = asio::co_spawn(io, std::move(work), asio::use_future);
    io.run();
    return done.get();
}

// The ClientError a call fails with; fails the test if it succeeds or throws anything else.
ClientError failure_of(asio::awaitable<void> work) {
    try {
        run(std::move(work));
    } catch (const ClientError& e) {
        return e;
    }
    FAIL("expected a ClientError, but the call succeeded");
    throw std::logic_error{"unreachable"};
}

std::string unique_name(const std::string& purpose) {
    static int counter = 0;
    return "cvgate_it_" + purpose + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

amqp::Message job_message(const std::string& queue, const std::string& body) {
    amqp::Message m;
    m.routing_key = queue;
    m.body = body;
    m.correlation_id = "corr-" + body;
    m.message_id = "msg-" + body;
    return m;
}

std::string rabbitmqctl(const std::string& args) {
    const auto& node = test::stack_env().amqp_node;
    return test::shell("rabbitmqctl " + (node.empty() ? std::string{} : "-n '" + node + "' ") + "-s " + args +
                       " 2>&1");
}

amqp::PublisherOptions quick_options(std::string name = "cvgate-it") {
    amqp::PublisherOptions o;
    o.connect_timeout = 2s;
    o.confirm_timeout = 3s;
    o.rpc_timeout = 3s;
    o.connection_name = std::move(name);
    return o;
}

}  // namespace

// ---- Against the real broker ----

TEST_CASE("a published message arrives with every property") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    const auto queue = unique_name("props");
    run(publisher.declare_queue(queue));

    amqp::Message m;
    m.routing_key = queue;
    m.body = R"({"job_id":"550e8400-e29b-41d4-a716-446655440000","expected_file_count":1})";
    m.correlation_id = "abc-123";
    m.message_id = "6f1c2f7e-2b1c-4c55-9a43-3f0e8f1f0e11";
    run(publisher.publish(m));

    test::QueueInspector inspector;
    auto got = inspector.get(queue);
    REQUIRE(got);
    CHECK(got->body == m.body);
    CHECK(got->content_type == "application/json");
    CHECK(got->delivery_mode == 2);
    CHECK(got->correlation_id == "abc-123");
    CHECK(got->message_id == m.message_id);
    CHECK(got->properties ==
          std::set<std::string>{"content_type", "delivery_mode", "correlation_id", "message_id"});
    CHECK(got->headers.empty());  // no headers asked for: no table at all
    CHECK_FALSE(inspector.get(queue));
    inspector.delete_queue(queue);
}

TEST_CASE("a message's headers arrive as a table of strings, in order, beside the same properties") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    const auto queue = unique_name("headers");
    run(publisher.declare_queue(queue));

    amqp::Message m = job_message(queue, "with headers");
    m.correlation_id = "abc-123";
    m.message_id = "6f1c2f7e-2b1c-4c55-9a43-3f0e8f1f0e11";
    m.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                 {"tracestate", "vendor=a,other=b"},
                 {"empty", ""}};
    run(publisher.publish(m));

    test::QueueInspector inspector;
    auto got = inspector.get(queue);
    REQUIRE(got);
    CHECK(got->headers == m.headers);
    CHECK(got->header("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK(got->properties ==
          std::set<std::string>{"content_type", "delivery_mode", "correlation_id", "message_id", "headers"});
    CHECK(got->body == m.body);
    CHECK(got->content_type == "application/json");
    CHECK(got->delivery_mode == 2);
    CHECK(got->correlation_id == "abc-123");
    CHECK(got->message_id == m.message_id);
    inspector.delete_queue(queue);
}

TEST_CASE("the queue is declared durable with no arguments") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    const auto queue = unique_name("durable");
    run(publisher.declare_queue(queue));
    run(publisher.declare_queue(queue));  // declaring again, identically, is fine

    std::istringstream lines{rabbitmqctl("list_queues name durable arguments auto_delete exclusive")};
    std::string line;
    std::optional<std::string> found;
    while (std::getline(lines, line)) {
        if (line.rfind(queue + "\t", 0) == 0) found = line;
    }
    REQUIRE(found);
    CHECK(*found == queue + "\ttrue\t[]\tfalse\tfalse");
    test::QueueInspector{}.delete_queue(queue);
}

TEST_CASE(
    "declaring a queue that exists with other arguments fails with rejected, and the publisher keeps "
    "working") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    test::QueueInspector inspector;
    const auto odd = unique_name("odd");
    inspector.declare_with_max_length(odd);

    const auto error = failure_of(publisher.declare_queue(odd));
    CHECK(error.kind() == ErrorKind::rejected);
    CHECK_THAT(error.what(), Catch::Contains("PRECONDITION_FAILED"));

    const auto queue = unique_name("after_odd");
    run(publisher.declare_queue(queue));
    run(publisher.publish(job_message(queue, "1")));
    CHECK(inspector.drain(queue).size() == 1);
    inspector.delete_queue(odd);
    inspector.delete_queue(queue);
}

TEST_CASE("publishing to an unroutable routing key with mandatory fails with rejected") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    const auto error = failure_of(publisher.publish(job_message(unique_name("nowhere"), "lost")));
    CHECK(error.kind() == ErrorKind::rejected);
    CHECK_THAT(error.what(), Catch::Contains("unroutable"));

    // The channel is still good.
    const auto queue = unique_name("routable");
    run(publisher.declare_queue(queue));
    run(publisher.publish(job_message(queue, "found")));
    test::QueueInspector inspector;
    CHECK(inspector.drain(queue).size() == 1);
    inspector.delete_queue(queue);
}

TEST_CASE(
    "an unroutable message larger than a frame fails with rejected, and the next large publish arrives "
    "whole") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    const std::string big(300 * 1024, 'j');  // returned to us over several body frames
    auto lost = job_message(unique_name("nowhere_big"), "big");
    lost.body = big;
    CHECK(failure_of(publisher.publish(lost)).kind() == ErrorKind::rejected);

    const auto queue = unique_name("big");
    run(publisher.declare_queue(queue));
    auto kept = job_message(queue, "big");
    kept.body = big + "end";
    run(publisher.publish(kept));
    test::QueueInspector inspector;
    auto got = inspector.get(queue);
    REQUIRE(got);
    CHECK(got->body == kept.body);
    inspector.delete_queue(queue);
}

TEST_CASE("publishing to a missing exchange fails with rejected, and the publisher keeps working") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    auto m = job_message("anything", "x");
    m.exchange = unique_name("no_such_exchange");
    const auto error = failure_of(publisher.publish(m));
    CHECK(error.kind() == ErrorKind::rejected);
    CHECK_THAT(error.what(), Catch::Contains("NOT_FOUND"));

    const auto queue = unique_name("after_missing_exchange");
    run(publisher.declare_queue(queue));
    run(publisher.publish(job_message(queue, "ok")));
    test::QueueInspector inspector;
    CHECK(inspector.drain(queue).size() == 1);
    inspector.delete_queue(queue);
}

TEST_CASE(
    "100 concurrent publishes from coroutines are all confirmed and all arrive, in some order, exactly "
    "once") {
    cvgate::exec::BlockingPool pool{4};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    const auto queue = unique_name("concurrent");
    run(publisher.declare_queue(queue));

    asio::io_context io;
    int confirmed = 0;
    std::vector<std::string> errors;
    for (int i = 0; i < 100; ++i) {
        asio::co_spawn(io, publisher.publish(job_message(queue, std::to_string(i))),
                       [&](std::exception_ptr e) {
                           if (!e) {
                               ++confirmed;
                               return;
                           }
                           try {
                               std::rethrow_exception(e);
                           } catch (const std::exception& x) {
                               errors.emplace_back(x.what());
                           }
                       });
    }
    io.run();
    CHECK(errors.empty());
    CHECK(confirmed == 100);

    test::QueueInspector inspector;
    std::multiset<std::string> bodies;
    for (auto& r : inspector.drain(queue)) bodies.insert(r.body);
    CHECK(bodies.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(bodies.count(std::to_string(i)) == 1);
    inspector.delete_queue(queue);
}

TEST_CASE("the connection is reused (one connection for many publishes)") {
    cvgate::exec::BlockingPool pool{2};
    const auto name = unique_name("reuse_connection");
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options(name)};
    const auto queue = unique_name("reuse");
    run(publisher.declare_queue(queue));
    for (int i = 0; i < 30; ++i) run(publisher.publish(job_message(queue, "seq" + std::to_string(i))));
    run([&]() -> asio::awaitable<void> {
        for (int i = 0; i < 30; ++i) co_await publisher.publish(job_message(queue, "co" + std::to_string(i)));
    }());
    run(publisher.ping());

    std::istringstream lines{rabbitmqctl("list_connections client_properties")};
    std::string line;
    int connections = 0;
    while (std::getline(lines, line)) {
        if (line.find("\"" + name + "\"") != std::string::npos) ++connections;
    }
    CHECK(connections == 1);
    test::QueueInspector inspector;
    CHECK(inspector.drain(queue).size() == 60);
    inspector.delete_queue(queue);
}

namespace {

// Starts the broker again when the test ends, whether it passed or not.
struct BrokerRestart {
    bool stopped = false;
    void stop() {
        test::stack_ctl("stop rabbitmq");
        stopped = true;
    }
    void start() {
        test::stack_ctl("start rabbitmq");
        stopped = false;
    }
    ~BrokerRestart() {
        if (!stopped) return;
        try {
            test::stack_ctl("start rabbitmq");
        } catch (...) {
        }
    }
};

// Puts the broker's memory limit back when the test ends.
struct MemoryAlarm {
    MemoryAlarm() { rabbitmqctl("set_vm_memory_high_watermark absolute 1"); }
    void clear() {
        if (cleared) return;
        rabbitmqctl("set_vm_memory_high_watermark 0.4");
        cleared = true;
    }
    ~MemoryAlarm() {
        try {
            clear();
        } catch (...) {
        }
    }
    bool cleared = false;
};

// A TCP relay between the publisher and the broker that, once armed, drops the next bytes
// the broker sends (the confirm of a publish the broker has routed) and cuts the connection:
// the publish was delivered, and its sender cannot know.
class ConfirmCutter {
public:
    ConfirmCutter() {
        const auto& url = test::stack_env().rabbitmq_url;  // amqp://guest:guest@127.0.0.1:PORT/
        const auto colon = url.rfind(':');
        upstream_port_ = std::stoi(url.substr(colon + 1));
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
            ::listen(listener_, 4) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            throw std::runtime_error{"ConfirmCutter: cannot listen"};
        port_ = ntohs(address.sin_port);
        thread_ = std::thread{[this] { relay(); }};
    }
    ConfirmCutter(const ConfirmCutter&) = delete;
    ConfirmCutter& operator=(const ConfirmCutter&) = delete;
    ~ConfirmCutter() {
        stop_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    std::string url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/"; }
    void arm() { armed_ = true; }
    bool cut() const { return cut_; }

private:
    // One connection at a time, relayed until either side closes or the cut.
    void relay() {
        while (!stop_) {
            const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) return;
            const int broker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            address.sin_port = htons(static_cast<std::uint16_t>(upstream_port_));
            if (::connect(broker, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
                pump(client, broker);
            ::close(broker);
            ::close(client);
        }
    }
    void pump(int client, int broker) {
        char buffer[16384];
        pollfd fds[2] = {{client, POLLIN, 0}, {broker, POLLIN, 0}};
        while (!stop_) {
            if (::poll(fds, 2, 100) < 0) return;
            for (int i = 0; i < 2; ++i) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
                if (n <= 0) return;
                if (i == 1 && armed_) {  // the broker's answer to the armed publish: dropped, and cut
                    cut_ = true;
                    armed_ = false;
                    return;
                }
                const int to = i == 0 ? broker : client;
                for (ssize_t sent = 0; sent < n;) {
                    const ssize_t w = ::write(to, buffer + sent, static_cast<std::size_t>(n - sent));
                    if (w <= 0) return;
                    sent += w;
                }
            }
        }
    }

    int upstream_port_ = 0;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> armed_{false};
    std::atomic<bool> cut_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE(
    "a publish whose connection is lost after it was sent fails in doubt (settled: failed), and the message "
    "may "
    "be on the queue") {
    // Issue 10's soak: such a publish failed as certain, its job was rolled back at once and
    // not logged as in doubt, and its message stayed on the queue as a ghost nobody accounted for.
    ConfirmCutter cutter;
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, cutter.url(), quick_options()};
    const auto queue = unique_name("cut");
    run(publisher.declare_queue(queue));
    cutter.arm();
    const auto error = failure_of(publisher.publish(job_message(queue, "cut")));
    CHECK(cutter.cut());
    CHECK(error.kind() == ErrorKind::unavailable);
    const auto settlement = error.settlement();
    REQUIRE(settlement);
    CHECK(settlement->outcome() == cvgate::exec::Settlement::Outcome::failed);

    test::QueueInspector inspector;
    std::vector<std::string> bodies;
    for (auto& r : inspector.drain(queue)) bodies.push_back(r.body);
    CHECK(bodies == std::vector<std::string>{"cut"});  // delivered: why the failure is in doubt
    // The publisher reconnects for the next one.
    run(publisher.publish(job_message(queue, "after")));
    inspector.delete_queue(queue);
}

TEST_CASE(
    "a publish while the broker is stopped fails with unavailable within its timeout, and after the broker "
    "restarts the next publish succeeds without a new Publisher") {
    cvgate::exec::BlockingPool pool{2};
    auto options = quick_options();
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, options};
    const auto queue = unique_name("outage");
    run(publisher.declare_queue(queue));
    run(publisher.publish(job_message(queue, "before")));

    BrokerRestart broker;
    broker.stop();

    const auto start = Clock::now();
    const auto error = failure_of(publisher.publish(job_message(queue, "during")));
    const auto took = Clock::now() - start;
    CHECK(error.kind() == ErrorKind::unavailable);
    CHECK(took < options.confirm_timeout);
    CHECK(std::string{error.what()}.find("guest:guest") == std::string::npos);
    CHECK(failure_of(publisher.ping()).kind() == ErrorKind::unavailable);

    broker.start();
    run(publisher.publish(job_message(queue, "after")));
    run(publisher.ping());

    test::QueueInspector inspector;
    std::set<std::string> bodies;
    for (auto& r : inspector.drain(queue)) bodies.insert(r.body);
    CHECK(bodies == std::set<std::string>{"before", "after"});  // durable queue, persistent messages
    inspector.delete_queue(queue);
}

TEST_CASE("a publish the broker does not confirm in time fails with timeout, and the publisher recovers") {
    cvgate::exec::BlockingPool pool{2};
    auto options = quick_options();
    options.confirm_timeout = 1500ms;
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, options};
    const auto queue = unique_name("alarm");
    run(publisher.declare_queue(queue));

    {
        // Under a memory alarm the broker stops reading from publishing connections.
        MemoryAlarm alarm;
        const auto start = Clock::now();
        const auto error = failure_of(publisher.publish(job_message(queue, "held")));
        const auto took = Clock::now() - start;
        CHECK(error.kind() == ErrorKind::timeout);
        CHECK(took >= options.confirm_timeout);
        CHECK(took < options.confirm_timeout + 2s);  // slack for a loaded machine
        alarm.clear();
    }

    // Once the alarm clears, the next publish goes through, in a bounded time.
    const auto deadline = Clock::now() + 20s;
    std::optional<ClientError> last;
    for (;;) {
        try {
            run(publisher.publish(job_message(queue, "released")));
            break;
        } catch (const ClientError& e) {
            last = e;
            if (Clock::now() > deadline) FAIL("no successful publish after the alarm: " << e.what());
        }
    }
    test::QueueInspector inspector;
    std::set<std::string> bodies;
    for (auto& r : inspector.drain(queue)) bodies.insert(r.body);
    CHECK(bodies.count("released") == 1);
    inspector.delete_queue(queue);
}

TEST_CASE("a publisher closed with close() fails later calls with unavailable") {
    cvgate::exec::BlockingPool pool{2};
    amqp::Publisher publisher{pool, test::stack_env().rabbitmq_url, quick_options()};
    run(publisher.ping());
    run(publisher.close());
    CHECK(failure_of(publisher.publish(job_message("any", "x"))).kind() == ErrorKind::unavailable);
}
