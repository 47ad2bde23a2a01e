// `co_await offload(...)`: the value or the exception comes back on the caller's executor;
// strands serialise one handle's work; a deadline bounds the wait.

#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/exec/offload.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace cvgate;
using namespace std::chrono_literals;

namespace {

template <typename T>
T run(boost::asio::io_context& ioc, boost::asio::awaitable<T> task) {
    auto f = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
    ioc.run();
    ioc.restart();
    return f.get();
}

}  // namespace

TEST_CASE("offload runs the call on the pool and resumes on the caller's thread", "[offload]") {
    exec::BlockingPool pool{2};
    boost::asio::io_context ioc;
    const auto caller = std::this_thread::get_id();
    auto [ran_on, resumed_on, value] =
        run(ioc, [&]() -> boost::asio::awaitable<std::tuple<std::thread::id, std::thread::id, int>> {
            auto work = [] { return std::make_pair(std::this_thread::get_id(), 42); };
            auto [id, v] = co_await exec::offload(pool.executor(), work);
            co_return std::make_tuple(id, std::this_thread::get_id(), v);
        }());
    CHECK(ran_on != caller);
    CHECK(resumed_on == caller);
    CHECK(value == 42);
}

TEST_CASE("offload carries exceptions and void results back", "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto throws = [] { throw std::runtime_error{"boom"}; };
    CHECK_THROWS_WITH(run(ioc, exec::offload(pool.executor(), throws)), "boom");
    std::atomic<int> calls{0};
    auto counts = [&calls] { ++calls; };
    run(ioc, exec::offload(pool.executor(), counts));
    CHECK(calls == 1);
}

TEST_CASE("a strand serialises calls on one handle while other strands run in parallel", "[offload]") {
    exec::BlockingPool pool{4};
    boost::asio::io_context ioc;
    auto strand = pool.make_strand();
    std::atomic<int> inside{0}, max_inside{0};
    auto guarded = [&] {
        const int now = ++inside;
        int seen = max_inside.load();
        while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(5ms);
        --inside;
    };
    for (int i = 0; i < 8; ++i)
        boost::asio::co_spawn(ioc, exec::offload(strand, guarded), boost::asio::detached);
    ioc.run();
    CHECK(max_inside == 1);

    // Two different strands overlap.
    ioc.restart();
    std::atomic<int> together{0}, peak{0};
    auto slow = [&] {
        peak = std::max(peak.load(), ++together);
        std::this_thread::sleep_for(100ms);
        --together;
    };
    auto a = pool.make_strand();
    auto b = pool.make_strand();
    boost::asio::co_spawn(ioc, exec::offload(a, slow), boost::asio::detached);
    boost::asio::co_spawn(ioc, exec::offload(b, slow), boost::asio::detached);
    ioc.run();
    CHECK(peak == 2);
}

TEST_CASE("a deadline ends the wait for a call that runs too long, and a queued call never starts",
          "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto slow = [release] {
        while (!release->load()) std::this_thread::sleep_for(1ms);
        return 1;
    };
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(run(ioc, exec::offload(pool.executor(), slow, start + 100ms)), exec::DeadlineExceeded);
    CHECK(std::chrono::steady_clock::now() - start < 2s);

    // The pool's only thread is still busy: a call queued behind it misses its deadline and is skipped.
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto never = [started] { started->store(true); };
    CHECK_THROWS_AS(run(ioc, exec::offload(pool.executor(), never, std::chrono::steady_clock::now() + 50ms)),
                    exec::DeadlineExceeded);
    release->store(true);
    pool.join();
    CHECK(!started->load());
}

TEST_CASE("a call that finishes before its deadline returns its value", "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto quick = [] { return std::string{"done"}; };
    CHECK(run(ioc, exec::offload(pool.executor(), quick, std::chrono::steady_clock::now() + 5s)) == "done");
}
