// What a client tells its observer of each call (clients/call_observer.hpp): the operation and
// the caller's name for it, how long it took, and how it ended, whether it returned or threw.

#include <cvgate/clients/call_observer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace cvgate;
using namespace std::chrono_literals;

namespace {

struct Told {
    std::string operation, name;
    std::chrono::steady_clock::duration duration;
    bool ok;
    std::optional<clients::ErrorKind> error;
};

template <typename T>
T run(boost::asio::awaitable<T> task) {
    boost::asio::io_context ioc;
    auto f = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
    ioc.run();
    return f.get();
}

boost::asio::awaitable<int> slow_answer() {
    boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor, 20ms};
    co_await timer.async_wait(boost::asio::use_awaitable);
    co_return 42;
}

boost::asio::awaitable<void> refused() {
    throw clients::ClientError{clients::ErrorKind::conflict, clients::Dependency::postgres, "duplicate"};
    co_return;
}

boost::asio::awaitable<void> late() {
    throw exec::DeadlineExceeded{};
    co_return;
}

boost::asio::awaitable<void> broken() {
    throw std::logic_error{"not a client's error"};
    co_return;
}

}  // namespace

TEST_CASE("a call is told once it returned: its operation, its name, its duration, ok", "[call_observer]") {
    std::vector<Told> told;
    const clients::CallObserver observer = [&](const clients::CallRecord& c) {
        told.push_back({std::string{c.operation}, std::string{c.name}, c.duration, c.ok, c.error});
    };
    CHECK(run(clients::observed(observer, "find_one", "find", slow_answer())) == 42);
    REQUIRE(told.size() == 1);
    CHECK(told[0].operation == "find_one");
    CHECK(told[0].name == "find");
    CHECK(told[0].duration >= 20ms);
    CHECK(told[0].ok);
    CHECK_FALSE(told[0].error);
}

TEST_CASE("a failed call is told with its kind, and its exception still reaches the caller",
          "[call_observer]") {
    std::vector<Told> told;
    const clients::CallObserver observer = [&](const clients::CallRecord& c) {
        told.push_back({std::string{c.operation}, std::string{c.name}, c.duration, c.ok, c.error});
    };
    CHECK_THROWS_AS(run(clients::observed(observer, "insert_one", "", refused())), clients::ClientError);
    CHECK_THROWS_AS(run(clients::observed(observer, "query", "sync", late())), exec::DeadlineExceeded);
    CHECK_THROWS_AS(run(clients::observed(observer, "publish", "", broken())), std::logic_error);
    REQUIRE(told.size() == 3);
    CHECK_FALSE(told[0].ok);
    CHECK(told[0].error == clients::ErrorKind::conflict);
    CHECK(told[0].name.empty());
    CHECK_FALSE(told[1].ok);
    CHECK(told[1].error == clients::ErrorKind::timeout);  // a missed deadline
    CHECK_FALSE(told[2].ok);
    CHECK_FALSE(told[2].error);  // not a client's error: no kind
}

TEST_CASE("with no observer the call is only awaited", "[call_observer]") {
    CHECK(run(clients::observed(clients::CallObserver{}, "ping", "ping", slow_answer())) == 42);
}
