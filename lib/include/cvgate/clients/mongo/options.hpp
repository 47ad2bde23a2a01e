#pragma once
// What a MongoDB client is told: where the server is, which database, its driver timeouts and
// bounds, each default named once.

#include <cvgate/clients/call_observer.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace cvgate::clients::mongo {

inline constexpr std::string_view default_url = "mongodb://localhost:27017";
inline constexpr std::string_view default_database = "kandidate_db";
inline constexpr std::chrono::milliseconds default_server_selection_timeout{3000};
inline constexpr std::chrono::milliseconds default_connect_timeout{3000};
inline constexpr std::chrono::milliseconds default_socket_timeout{5000};
inline constexpr std::chrono::milliseconds default_call_timeout{10000};

struct Options {
    std::string url{default_url};
    std::string database{default_database};
    // Driver timeouts, applied unless the URL sets them itself (?serverSelectionTimeoutMS=...):
    // short enough that a dead server fails a request fast instead of hanging it.
    std::chrono::milliseconds server_selection_timeout{default_server_selection_timeout};
    std::chrono::milliseconds connect_timeout{default_connect_timeout};
    std::chrono::milliseconds socket_timeout{default_socket_timeout};
    // How long a call may take in all, waiting for a pooled connection and retries included,
    // when the caller gives no deadline; past it the call fails with ErrorKind::timeout.
    std::chrono::milliseconds call_timeout{default_call_timeout};
    // Connections kept by the pool (0: the URL's maxPoolSize, or the driver's default, 100).
    std::size_t max_connections = 0;
    std::string app_name = "cvgate";
    // Calls running or waiting for a thread of the blocking pool at most (0: no bound); past
    // it a call fails at once with ErrorKind::unavailable instead of queueing (a bulkhead).
    std::size_t max_pending_calls = 0;
    // Told of every call as it ends (clients/call_observer.hpp); none: nobody is.
    CallObserver observer{};
};

}  // namespace cvgate::clients::mongo
