#pragma once
// Versioned schema migrations for cold storage, applied at start-up. Several replicas may
// start at once: a session advisory lock serialises them, so each migration runs exactly once.

#include <cvgate/clients/postgres/connection.hpp>
#include <cvgate/clients/postgres/pool.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

namespace cvgate::clients::postgres {

struct Migration {
    int version;           // strictly increasing
    std::string_view sql;  // one or more statements; runs in one transaction
};

// Cold storage's history, oldest first. Append new versions; never edit a released one.
std::span<const Migration> cold_storage_migrations() noexcept;

// The advisory lock key every cvgate replica migrates under.
inline constexpr std::int64_t migration_lock_key = 0x6376676174650001;  // "cvgate" + 1

// Applies, under pg_advisory_lock(migration_lock_key), every migration whose version is not
// in schema_migrations yet, each in its own transaction together with its schema_migrations
// row. Returns the schema version (the highest applied). Blocking: for the blocking pool.
int migrate(Connection& conn, std::span<const Migration> migrations, Deadline deadline);

// migrate(cold_storage_migrations()) on a connection of `pool`.
boost::asio::awaitable<int> migrate(Pool& pool,
                                    Deadline deadline = Deadline::after(std::chrono::seconds{60}));

}  // namespace cvgate::clients::postgres
