// `co_await offload(...)`: the value or the exception comes back on the caller's executor;
// strands serialise one handle's work; a deadline (or any cancellation) ends the wait, and a
// call it abandons while running is in doubt until its settlement resolves.

#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/exec/offload.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
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

// What the awaiting coroutine caught, and the settlement it carried.
struct Caught {
    bool deadline = false;
    std::shared_ptr<exec::Settlement> settlement;
};

template <typename T>
Caught catch_deadline(boost::asio::io_context& ioc, boost::asio::awaitable<T> task) {
    try {
        run(ioc, std::move(task));
    } catch (const exec::DeadlineExceeded& e) {
        return Caught{true, e.settlement()};
    }
    return {};
}

TEST_CASE("a deadline ends the wait for a running call, which is then in doubt until it returns",
          "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto running = std::make_shared<std::atomic<bool>>(false);
    auto slow = [release, running] {
        running->store(true);
        while (!release->load()) std::this_thread::sleep_for(1ms);
        return 1;
    };
    const auto start = exec::Clock::now();
    auto slow_with_deadline = [&](exec::Deadline d) { return exec::offload(pool.executor(), slow, d); };
    auto waits = [&]() -> boost::asio::awaitable<int> {
        co_return co_await slow_with_deadline(exec::Deadline::after(100ms));
    };
    const Caught caught = catch_deadline(ioc, waits());
    CHECK(caught.deadline);
    CHECK(exec::Clock::now() - start < 2s);
    REQUIRE(running->load());
    REQUIRE(caught.settlement != nullptr);  // it had started: in doubt
    CHECK(!caught.settlement->outcome());   // still running

    release->store(true);
    auto settled = [&]() -> boost::asio::awaitable<std::optional<exec::Settlement::Outcome>> {
        co_return co_await caught.settlement->wait(exec::Deadline::after(5s));
    };
    CHECK(run(ioc, settled()) == exec::Settlement::Outcome::succeeded);
}

TEST_CASE("an in-doubt call that throws settles as failed", "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto fails = [release] {
        while (!release->load()) std::this_thread::sleep_for(1ms);
        throw std::runtime_error{"refused"};
    };
    const Caught caught =
        catch_deadline(ioc, exec::offload(pool.executor(), fails, exec::Deadline::after(50ms)));
    REQUIRE(caught.settlement != nullptr);
    release->store(true);
    pool.join();
    CHECK(caught.settlement->outcome() == exec::Settlement::Outcome::failed);
}

TEST_CASE("a call still queued at its deadline never starts and its failure is certain", "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto busy = [release] {
        while (!release->load()) std::this_thread::sleep_for(1ms);
    };
    boost::asio::post(pool.executor(), busy);  // the pool's only thread
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto never = [started] { started->store(true); };
    const Caught caught =
        catch_deadline(ioc, exec::offload(pool.executor(), never, exec::Deadline::after(50ms)));
    CHECK(caught.deadline);
    CHECK(caught.settlement == nullptr);  // never started: nothing in doubt
    release->store(true);
    pool.join();
    CHECK(!started->load());
}

TEST_CASE("offload honours the caller's cancellation: `op || timer` gives up at the timer", "[offload]") {
    using namespace boost::asio::experimental::awaitable_operators;
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto release = std::make_shared<std::atomic<bool>>(false);
    auto slow = [release] {
        while (!release->load()) std::this_thread::sleep_for(1ms);
        return 7;
    };
    auto race = [&]() -> boost::asio::awaitable<std::size_t> {
        boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor, 50ms};
        auto winner =
            co_await (exec::offload(pool.executor(), slow) || timer.async_wait(boost::asio::use_awaitable));
        co_return winner.index();
    };
    const auto start = exec::Clock::now();
    CHECK(run(ioc, race()) == 1);  // the timer won
    CHECK(exec::Clock::now() - start < 2s);
    release->store(true);
}

TEST_CASE("offload_to_end waits for the call whatever the caller's cancellation", "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto done = std::make_shared<std::atomic<bool>>(false);
    auto slow = [done] {
        std::this_thread::sleep_for(200ms);
        done->store(true);
        return 3;
    };
    auto waits = [&]() -> boost::asio::awaitable<int> {
        co_return co_await exec::with_deadline(exec::offload_to_end(pool.executor(), slow),
                                               exec::Deadline::after(20ms));
    };
    CHECK(run(ioc, waits()) == 3);  // it ran to its end: the deadline had nothing to cancel
    CHECK(done->load());
}

TEST_CASE("a call that finishes before its deadline returns its value", "[offload]") {
    exec::BlockingPool pool{1};
    boost::asio::io_context ioc;
    auto quick = [] { return std::string{"done"}; };
    CHECK(run(ioc, exec::offload(pool.executor(), quick, exec::Deadline::after(5s))) == "done");
    auto throws = [] { throw std::runtime_error{"boom"}; };
    CHECK_THROWS_WITH(run(ioc, exec::offload(pool.executor(), throws, exec::Deadline::after(5s))), "boom");
}
