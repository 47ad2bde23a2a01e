// cvgate: read the configuration, serve until SIGTERM or SIGINT, then shut down gracefully.

#include <cvgate/app/application.hpp>
#include <cvgate/app/config.hpp>
#include <cvgate/version.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    using namespace cvgate::app;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    LoadResult loaded;
    try {
        loaded = load_config(args, process_environment());
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "cvgate: configuration error: %s\n", e.what());
        return 2;
    }
    if (loaded.help) {
        std::fputs(help_text().c_str(), stdout);
        return 0;
    }
    if (loaded.version) {
        std::printf("cvgate %s\n", cvgate::version);
        return 0;
    }

    // Block the stop signals before any thread starts, so only sigwait below receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    try {
        Application app{std::move(loaded.config)};
        app.start();
        int received = 0;
        sigwait(&stop_signals, &received);
        app.logger().info("signal received", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
        app.shutdown();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvgate: %s\n", e.what());
        return 1;
    }
    return 0;
}
