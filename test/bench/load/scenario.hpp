#pragma once
// One simulated recruiter session, as the frontend drives cvgate: submit a job with 1-10
// CVs, poll its status until the pipeline completes it, sync it to cold storage, read the
// results, and check they add up.

#include "corpus.hpp"
#include "http_client.hpp"
#include "stats.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <random>

namespace cvgate::load {

struct ScenarioOptions {
    std::size_t min_cvs = 1, max_cvs = 10;
    std::chrono::milliseconds poll_interval{1000};
    std::chrono::milliseconds complete_timeout{60000};  // give up waiting for the pipeline
    bool sync = true;                                   // sync + results once complete
};

struct Scenario {
    ScenarioOptions options;
    HttpClient& client;
    const Corpus& corpus;
    Recorder& recorder;
    std::mt19937_64& rng;
    std::size_t active = 0;       // sessions running now
    std::size_t peak_active = 0;  // the most at once

    // `start`: when the session was due to begin (an open-loop arrival): the submit's
    // latency counts from there.
    boost::asio::awaitable<void> session(std::chrono::steady_clock::time_point start);
};

}  // namespace cvgate::load
