#pragma once
// Where the flows hand what must wait for an in-doubt call to settle (CONTRACT.md, "Failure
// semantics"): the request has answered 503 already; its compensation — or, for a publish the
// broker confirmed late, its acceptance — runs here once the abandoned call has returned, and
// never later than the in-doubt limit (IN_DOUBT_SECONDS). Runs on a thread of its own, so a
// request's I/O thread is never held; stop() lets pending work finish within a bound.

#include <cvgate/exec/deadline.hpp>
#include <cvgate/jobs/ports.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace cvgate::jobs {

class Settler {
public:
    explicit Settler(std::chrono::seconds limit);
    Settler(const Settler&) = delete;
    Settler& operator=(const Settler&) = delete;
    ~Settler();

    // How long an in-doubt call may stay unsettled before it is compensated all the same.
    std::chrono::seconds limit() const noexcept { return limit_; }
    // Runs `work` in the background; an exception it throws is dropped (report it inside).
    void spawn(std::function<Task<void>()> work);
    // Work spawned and not finished yet.
    std::size_t pending() const noexcept { return pending_.load(); }
    // A job whose hot-storage change is in doubt is held until it is settled: on this
    // replica, further changes to its `expected_files` (add-cvs, erase) are refused meanwhile,
    // so that the settling check (was the change applied?) sees no one else's change.
    void hold(const std::string& job_id);
    void release(const std::string& job_id);
    bool held(const std::string& job_id) const;
    // Waits for pending work until `deadline`, then stops the thread (what is left is cut
    // off: crash recovery undoes it). Idempotent.
    void stop(exec::Deadline deadline);

private:
    std::chrono::seconds limit_;
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::atomic<std::size_t> pending_{0};
    std::mutex mutex_;
    std::condition_variable idle_;
    mutable std::mutex held_mutex_;
    std::multiset<std::string> held_;
    std::thread thread_;
};

// A job with an in-doubt hot change on this replica takes no other change of its
// expected_files until it is settled (Settler::hold): Error(unavailable), retry shortly.
void refuse_while_settling(const Settler& settler, const std::string& job_id);

}  // namespace cvgate::jobs
