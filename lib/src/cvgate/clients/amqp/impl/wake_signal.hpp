#pragma once
// Wakes the publisher's strand from poll() when a caller queues work: an eventfd, polled
// beside the broker's socket.

namespace cvgate::clients::amqp::impl {

class WakeSignal {
public:
    WakeSignal();  // throws std::system_error
    WakeSignal(const WakeSignal&) = delete;
    WakeSignal& operator=(const WakeSignal&) = delete;
    ~WakeSignal();

    void notify() noexcept;  // any thread; never blocks
    void clear() noexcept;   // the waiting side, after poll() said readable
    int fd() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace cvgate::clients::amqp::impl
