#include <cvgate/clients/postgres/impl/socket_wait.hpp>

#include <poll.h>

#include <cerrno>

namespace cvgate::clients::postgres::impl {

SocketWait wait_socket(int fd, bool read, bool write, exec::Deadline deadline) {
    if (fd < 0) return SocketWait::failed;
    for (;;) {
        const auto left = deadline.remaining();
        // Round up: a 0 ms poll on 0.4 ms left would spin.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        const int timeout = ms <= 0 ? 0 : ms > 60'000 ? 60'000 : static_cast<int>(ms);
        pollfd p{};
        p.fd = fd;
        p.events = static_cast<short>((read ? POLLIN : 0) | (write ? POLLOUT : 0));
        const int n = ::poll(&p, 1, timeout);
        if (n > 0) return SocketWait::ready;  // POLLERR/POLLHUP too: libpq reports the error
        if (n < 0 && errno != EINTR) return SocketWait::failed;
        if (n == 0 && timeout == 0) return SocketWait::timed_out;
        if (n == 0 && deadline.passed()) return SocketWait::timed_out;
    }
}

}  // namespace cvgate::clients::postgres::impl
