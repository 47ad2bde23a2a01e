#include <cvgate/clients/amqp/impl/wake_signal.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace cvgate::clients::amqp::impl {

WakeSignal::WakeSignal() : fd_{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)} {
    if (fd_ < 0) throw std::system_error{errno, std::generic_category(), "eventfd"};
}

WakeSignal::~WakeSignal() { ::close(fd_); }

void WakeSignal::notify() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(fd_, &one, sizeof one);  // EAGAIN: already signalled
}

void WakeSignal::clear() noexcept {
    std::uint64_t count;
    [[maybe_unused]] auto read = ::read(fd_, &count, sizeof count);
}

}  // namespace cvgate::clients::amqp::impl
