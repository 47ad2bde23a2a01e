#include <cvgate/clients/amqp/impl/stall_watchdog.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cvgate::clients::amqp::impl {

void StallWatchdog::watch(int socket_fd) {
    const int copy = socket_fd >= 0 ? ::fcntl(socket_fd, F_DUPFD_CLOEXEC, 0) : -1;
    std::lock_guard lock{mutex_};
    if (fd_ >= 0) ::close(fd_);
    fd_ = copy;
    busy_since_ = {};
}

void StallWatchdog::unwatch() noexcept {
    std::lock_guard lock{mutex_};
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    busy_since_ = {};
}

StallWatchdog::Busy::Busy(StallWatchdog& dog) : dog_{dog} {
    std::lock_guard lock{dog_.mutex_};
    dog_.busy_since_ = std::chrono::steady_clock::now();
}

StallWatchdog::Busy::~Busy() {
    std::lock_guard lock{dog_.mutex_};
    dog_.busy_since_ = {};
}

bool StallWatchdog::check() noexcept {
    std::lock_guard lock{mutex_};
    if (fd_ < 0 || busy_since_ == std::chrono::steady_clock::time_point{}) return false;
    if (std::chrono::steady_clock::now() - busy_since_ < limit_) return false;
    ::shutdown(fd_, SHUT_RDWR);
    return true;
}

}  // namespace cvgate::clients::amqp::impl
