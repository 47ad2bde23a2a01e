#pragma once
// `GET /readyz`: every dependency checked at once, each with its latency; 503 when one fails,
// is too slow, or a shutdown has begun. A failed check is named in the body by its category
// only (`refused`, `timeout`, `auth`, `error`): addresses and driver text go to `on_failure`,
// for the log.

#include <cvgate/http/router.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::api {

struct ReadinessCheck {
    std::string name;                                   // "mongodb", "postgresql", "rabbitmq", "volume"
    std::function<boost::asio::awaitable<void>()> run;  // throws (a jobs::DependencyError) when not ready
};

struct ReadinessOptions {
    std::vector<ReadinessCheck> checks;
    std::chrono::milliseconds timeout{2000};  // a check still running then counts as failed
    const std::atomic<bool>* draining = nullptr;
    // Called for each failed check of a round, with its category and the error's full text.
    std::function<void(std::string_view check, std::string_view category, std::string_view detail)>
        on_failure;
};

void add_readiness_route(http::Router& router, ReadinessOptions options);

}  // namespace cvgate::api
