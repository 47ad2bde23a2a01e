#pragma once
// What the PostgreSQL client is told: where the server is, and the bounds on a connection and
// on the pool's calls, each default named once.

#include <cvgate/clients/call_observer.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace cvgate::clients::postgres {

inline constexpr std::string_view default_url = "postgresql://localhost:5432/kandidate";
inline constexpr std::chrono::milliseconds default_connect_timeout{5'000};
inline constexpr std::chrono::milliseconds default_cancel_grace{1'000};
inline constexpr std::chrono::milliseconds default_statement_timeout{0};
inline constexpr std::size_t default_pool_size = 8;
inline constexpr std::chrono::milliseconds default_call_timeout{5'000};
inline constexpr std::chrono::milliseconds default_ping_timeout{1'000};

struct ConnectOptions {
    std::string url{default_url};  // postgresql://user:password@host:port/db?param=...; never logged
    std::string application_name = "cvgate";
    // Bound on one connection attempt, whatever the caller's deadline.
    std::chrono::milliseconds connect_timeout{default_connect_timeout};
    // After a deadline cancels a statement: how long to wait for the server to acknowledge
    // before the connection is dropped instead of reused.
    std::chrono::milliseconds cancel_grace{default_cancel_grace};
    // Server-side backstop (statement_timeout) for statements whose client went away; 0 = none.
    std::chrono::milliseconds server_statement_timeout{default_statement_timeout};
};

struct PoolOptions {
    ConnectOptions connection;
    std::size_t size = default_pool_size;  // connections at most, opened on first use
    std::chrono::milliseconds default_timeout{default_call_timeout};  // for calls that name no timeout
    std::chrono::milliseconds ping_timeout{default_ping_timeout};
    // Callers waiting for a free connection at most (0: no bound); past it a call fails at
    // once with ErrorKind::unavailable instead of queueing (a bulkhead).
    std::size_t max_waiting = 0;
    // Told of every call as it ends (clients/call_observer.hpp); none: nobody is.
    CallObserver observer{};
};

}  // namespace cvgate::clients::postgres
