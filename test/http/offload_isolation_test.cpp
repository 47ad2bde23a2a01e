// A dependency call that blocks for seconds runs on the blocking pool, never on an I/O
// thread: GET /healthz on the same server is answered while it is still blocked.

#include "http/server_support.hpp"

#include <cvgate/api/service_routes.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/exec/offload.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

using namespace cvgate;
using namespace std::chrono_literals;

TEST_CASE("a dependency call blocked for seconds does not delay GET /healthz", "[http][offload]") {
    exec::BlockingPool blocking{2};
    auto blocked = std::make_shared<std::atomic<int>>(0);
    auto release = std::make_shared<std::atomic<bool>>(false);
    http::Router router;
    api::add_service_routes(router);
    router.add(http::Verb::get, "/slow-dependency",
               [&blocking, blocked, release](http::Request&) -> boost::asio::awaitable<http::Response> {
                   auto call = [blocked, release] {
                       ++*blocked;
                       // Like a libpq call on a dead server: holds its thread until released.
                       for (int i = 0; i < 1000 && !release->load(); ++i) std::this_thread::sleep_for(10ms);
                       --*blocked;
                   };
                   co_await exec::offload(blocking.executor(), call);
                   co_return http::error_response(http::Status::ok, "done");
               });
    auto options = test::TestServer::defaults();
    options.io_threads = 1;  // one I/O thread: had the call run on it, nothing else could be served
    test::TestServer server{router, options};

    test::Client slow_a{server.port()}, slow_b{server.port()};
    slow_a.send(test::get_request("/slow-dependency"));
    slow_b.send(test::get_request("/slow-dependency"));
    while (blocked->load() < 2) std::this_thread::sleep_for(1ms);

    for (int i = 0; i < 5; ++i) {
        test::Client c{server.port()};
        c.send(test::get_request("/healthz"));
        CHECK(c.read_reply().result_int() == 200);
        CHECK(blocked->load() == 2);  // answered while both calls are still blocked
    }
    release->store(true);
    CHECK(slow_a.read_reply().result_int() == 200);
    CHECK(slow_b.read_reply().result_int() == 200);
}
