#pragma once
// Unsticks the publisher's strand when a rabbitmq-c call blocks past a limit. A send has no
// timeout in rabbitmq-c, and a broker that stops reading (a memory or disk alarm) leaves it
// waiting forever; then another thread shuts the socket down, the call fails, and the
// connection is replaced. The watchdog holds its own dup() of the socket, so it can never
// touch a descriptor number that rabbitmq-c has closed and the process reused.

#include <chrono>
#include <mutex>

namespace cvgate::clients::amqp::impl {

class StallWatchdog {
public:
    explicit StallWatchdog(std::chrono::milliseconds limit) : limit_{limit} {}
    StallWatchdog(const StallWatchdog&) = delete;
    StallWatchdog& operator=(const StallWatchdog&) = delete;
    ~StallWatchdog() { unwatch(); }

    // The owning strand: a new connection's socket, and its end.
    void watch(int socket_fd);
    void unwatch() noexcept;

    // The owning strand, around a call that may block.
    class Busy {
    public:
        explicit Busy(StallWatchdog& dog);
        Busy(const Busy&) = delete;
        Busy& operator=(const Busy&) = delete;
        ~Busy();

    private:
        StallWatchdog& dog_;
    };

    // Any thread: shuts the socket down if a call has been blocking longer than the limit.
    // Returns true if it did.
    bool check() noexcept;

private:
    const std::chrono::milliseconds limit_;
    std::mutex mutex_;
    int fd_ = -1;
    std::chrono::steady_clock::time_point busy_since_{};
};

}  // namespace cvgate::clients::amqp::impl
