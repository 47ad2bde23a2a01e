// GET /readyz end to end with every dependency up (the outages are in outages.cpp).

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <set>

namespace {

using namespace cvgate::test;

}  // namespace

TEST_CASE("GET /readyz is 200 with MongoDB, PostgreSQL, RabbitMQ and the volume all ok") {
    Gateway gw;
    const auto a = gw.get("/readyz");
    REQUIRE(a.status == 200);
    CHECK(a.object().at("status") == "ready");
    const auto& checks = a.object().at("checks").as_object();
    CHECK(keys_of(checks) == std::set<std::string>{"mongodb", "postgresql", "rabbitmq", "volume"});
    for (const auto& kv : checks) {
        INFO(kv.key());
        CHECK(kv.value().as_object().at("status") == "ok");
        CHECK(kv.value().as_object().at("latency_ms").is_number());
    }
    // Issue 9: latencies read 3.194668E0; now like 3.19 (or 0.412 below 1 ms).
    CHECK(matches(a.raw.body(), R"(.*"latency_ms":-?[0-9]+\.[0-9]{1,3}[,}].*)"));
    CHECK_THAT(a.raw.body(), !Catch::Contains("E0") && !Catch::Contains("e-"));
}
