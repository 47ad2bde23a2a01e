#pragma once
// Crash tests only: a named point in a flow where the process kills itself (SIGKILL) when the
// environment variable CVGATE_FAULT names it. Compiled in only with the CMake option
// CVGATE_FAULT_INJECTION (the test builds); elsewhere it is nothing.

#include <string_view>

#ifdef CVGATE_FAULT_INJECTION
#include <csignal>
#include <cstdlib>
#endif

namespace cvgate::jobs {

inline void fault_point([[maybe_unused]] std::string_view name) {
#ifdef CVGATE_FAULT_INJECTION
    const char* fault = std::getenv("CVGATE_FAULT");
    if (fault && name == fault) std::raise(SIGKILL);
#endif
}

}  // namespace cvgate::jobs
