#pragma once
// One PostgreSQL session (owner of a PGconn). Its calls block, each bounded by a deadline:
// run them on the blocking pool only. Not thread-safe: one user at a time (the Pool
// guarantees that by lending a connection to one operation at a time).

#include <cvgate/clients/postgres/options.hpp>
#include <cvgate/clients/postgres/params.hpp>
#include <cvgate/clients/postgres/result.hpp>
#include <cvgate/exec/deadline.hpp>

#include <chrono>
#include <string>
#include <string_view>

struct pg_conn;  // PGconn, from libpq-fe.h

namespace cvgate::clients::postgres {

using exec::Clock;
using exec::Deadline;  // the one deadline type of every client call (exec/deadline.hpp)

class Transaction;

class Connection {
public:
    // Connects within min(deadline, now + connect_timeout). Throws ClientError: unavailable
    // (refused, authentication failed, no answer within connect_timeout), timeout (the
    // caller's deadline came first), rejected (the URL does not parse).
    static Connection open(const ConnectOptions& options, Deadline deadline);

    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // One statement with text parameters $1..$n (never spliced into the SQL). At the
    // deadline the statement is canceled on the server; the call then throws timeout,
    // unless the statement completed anyway (then its result is returned).
    Result query(const std::string& sql, const Params& params, Deadline deadline);
    // Several `;`-separated statements without parameters (simple protocol): migrations.
    void execute_script(const std::string& sql, Deadline deadline);

    bool is_open() const noexcept;
    // Inside a transaction block (or in any state but idle).
    bool in_transaction() const noexcept;
    // Open, idle, and not closed by the server while it sat in the pool (a poll, no round trip).
    bool reusable() noexcept;
    // Drops the session (the server releases its locks); later calls throw unavailable.
    void close() noexcept;

private:
    friend class Transaction;
    Connection(pg_conn* conn, std::string secret, std::chrono::milliseconds cancel_grace) noexcept;

    void require_open() const;
    Result finish(Deadline deadline);
    void flush(Deadline deadline);
    void send_cancel() noexcept;
    [[noreturn]] void lost(std::string_view what);
    // ROLLBACK within cancel_grace; a connection that cannot roll back is closed.
    void rollback_quietly() noexcept;

    pg_conn* conn_ = nullptr;
    std::string secret_;  // the password, masked out of every error text
    std::chrono::milliseconds cancel_grace_{1'000};
};

}  // namespace cvgate::clients::postgres
