#pragma once
// Waiting on a libpq socket without ever waiting past a deadline.

#include <cvgate/exec/deadline.hpp>

#include <chrono>

namespace cvgate::clients::postgres::impl {

enum class SocketWait { ready, timed_out, failed };

// Blocks (this runs on the blocking pool) until `fd` is readable (and/or writable) or
// `deadline` passes. A deadline already in the past still checks readiness once.
SocketWait wait_socket(int fd, bool read, bool write, exec::Deadline deadline);

}  // namespace cvgate::clients::postgres::impl
