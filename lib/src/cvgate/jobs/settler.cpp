#include <cvgate/jobs/settler.hpp>

#include <cvgate/jobs/error.hpp>

#include <boost/asio/co_spawn.hpp>

#include <exception>

namespace cvgate::jobs {

Settler::Settler(std::chrono::seconds limit)
    : limit_{limit}, guard_{ioc_.get_executor()}, thread_{[this] { ioc_.run(); }} {}

Settler::~Settler() { stop(exec::Deadline::after(std::chrono::seconds{0})); }

void Settler::spawn(std::function<Task<void>()> work) {
    ++pending_;
    auto run = [](std::function<Task<void>()> w) -> Task<void> { co_await w(); };
    boost::asio::co_spawn(ioc_, run(std::move(work)), [this](std::exception_ptr) {
        std::lock_guard lock{mutex_};
        if (--pending_ == 0) idle_.notify_all();
    });
}

void Settler::hold(const std::string& job_id) {
    std::lock_guard lock{held_mutex_};
    held_.insert(job_id);
}

void Settler::release(const std::string& job_id) {
    std::lock_guard lock{held_mutex_};
    if (auto it = held_.find(job_id); it != held_.end()) held_.erase(it);
}

bool Settler::held(const std::string& job_id) const {
    std::lock_guard lock{held_mutex_};
    return held_.contains(job_id);
}

void refuse_while_settling(const Settler& settler, const std::string& job_id) {
    if (settler.held(job_id))
        throw Error{
            ErrorKind::unavailable,
            "An earlier change to this job is still being settled after a storage timeout; retry shortly"};
}

void Settler::stop(exec::Deadline deadline) {
    if (!thread_.joinable()) return;
    {
        std::unique_lock lock{mutex_};
        const auto idle = [this] { return pending_.load() == 0; };
        if (deadline.is_never())
            idle_.wait(lock, idle);
        else
            idle_.wait_until(lock, deadline.when(), idle);
    }
    guard_.reset();
    ioc_.stop();
    thread_.join();
}

}  // namespace cvgate::jobs
