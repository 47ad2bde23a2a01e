// The access log line of a small request, as the server makes one per answer: how long
// log_access takes on the I/O thread (formatting into the thread's shard; the writer thread
// writes to /dev/null). Prints the calling thread's CPU time per line (CPU, not wall time: the
// machine is shared), best of 5 rounds; never passes or fails.
//
//   build/release/test/bench/cvgate_access_log_bench [lines per round]   (default 1,000,000)

#include <cvgate/app/logging.hpp>
#include <cvgate/app/request_log.hpp>
#include <cvgate/ids/trace_context.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {

double thread_cpu_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
    const long lines = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd < 0) return 1;
    double best = 1e300;
    {
        cvgate::app::Logger logger{cvgate::app::LogLevel::info, cvgate::app::LogFormat::json, null_fd};
        const cvgate::ids::TraceContext trace = cvgate::ids::TraceContext::start();
        const cvgate::http::AccessRecord record{cvgate::http::Verb::get,
                                                "/jobs/3f2a7c1e-9b0d-4c55-8e61-0a4b2d9c7e10/status",
                                                "/jobs/{job_id}/status",
                                                200,
                                                0,
                                                187,
                                                std::chrono::microseconds{412},
                                                "0b6f3f0e-5d1c-4a8e-9a57-2c9e1f7b3d44",
                                                trace};
        for (int round = 0; round < 5; ++round) {
            const double start = thread_cpu_ns();
            for (long i = 0; i < lines; ++i) cvgate::app::log_access(logger, record);
            best = std::min(best, (thread_cpu_ns() - start) / static_cast<double>(lines));
            logger.flush();
        }
    }
    ::close(null_fd);
    std::printf("access log line: %.1f ns of CPU (best of 5 rounds of %ld)\n", best, lines);
}
