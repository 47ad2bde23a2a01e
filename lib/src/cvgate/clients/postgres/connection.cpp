#include <cvgate/clients/postgres/connection.hpp>

#include <cvgate/clients/postgres/impl/errors.hpp>
#include <cvgate/clients/postgres/impl/socket_wait.hpp>
#include <cvgate/clients/postgres/notices.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <memory>
#include <utility>
#include <vector>

namespace cvgate::clients::postgres {
namespace {

using impl::error;
using impl::SocketWait;
using impl::wait_socket;

struct ClearResult {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using OwnedResult = std::unique_ptr<PGresult, ClearResult>;

struct FinishConn {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};

}  // namespace

Connection::Connection(pg_conn* conn, std::string secret, std::chrono::milliseconds cancel_grace) noexcept
    : conn_{conn}, secret_{std::move(secret)}, cancel_grace_{cancel_grace} {}

Connection::Connection(Connection&& other) noexcept
    : conn_{std::exchange(other.conn_, nullptr)},
      secret_{std::move(other.secret_)},
      cancel_grace_{other.cancel_grace_} {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        conn_ = std::exchange(other.conn_, nullptr);
        secret_ = std::move(other.secret_);
        cancel_grace_ = other.cancel_grace_;
    }
    return *this;
}

Connection::~Connection() { close(); }

void Connection::close() noexcept {
    if (conn_) PQfinish(std::exchange(conn_, nullptr));
}

bool Connection::is_open() const noexcept { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

bool Connection::in_transaction() const noexcept {
    return conn_ && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

bool Connection::reusable() noexcept {
    if (!is_open() || in_transaction()) return false;
    // An idle session has nothing to say unless the server is hanging up (shutdown, admin
    // kill): its last words may come a read before the EOF, so any input at all disqualifies.
    return wait_socket(PQsocket(conn_), true, false, Deadline::at(Clock::now())) == SocketWait::timed_out;
}

Connection Connection::open(const ConnectOptions& options, Deadline deadline) {
    std::string secret = impl::password_of(options.url);
    const auto budget_end = Deadline::after(options.connect_timeout);
    const bool deadline_first = deadline.when() < budget_end.when();
    const Deadline limit = deadline.capped(budget_end);
    if (deadline.passed()) throw error(ErrorKind::timeout, "deadline passed before connecting");

    const std::string user_timeout = std::to_string(options.connect_timeout.count());
    const std::string backstop =
        "-c statement_timeout=" + std::to_string(options.server_statement_timeout.count());
    // Ours first, the URL after: whatever the URL says wins (expand_dbname).
    std::vector<const char*> keys{"application_name",    "keepalives",       "keepalives_idle",
                                  "keepalives_interval", "keepalives_count", "tcp_user_timeout"};
    std::vector<const char*> values{
        options.application_name.c_str(), "1", "30", "10", "3", user_timeout.c_str()};
    if (options.server_statement_timeout.count() > 0) {
        keys.push_back("options");
        values.push_back(backstop.c_str());
    }
    keys.push_back("dbname");
    values.push_back(options.url.c_str());
    keys.push_back(nullptr);
    values.push_back(nullptr);

    std::unique_ptr<PGconn, FinishConn> conn{PQconnectStartParams(keys.data(), values.data(), 1)};
    if (!conn) throw error(ErrorKind::unavailable, "could not allocate a connection");
    // Notices ("relation already exists, skipping"...) would go to stderr by default.
    PQsetNoticeProcessor(conn.get(), impl::forward_notice, nullptr);
    if (PQstatus(conn.get()) == CONNECTION_BAD)
        throw impl::connection_error(ErrorKind::unavailable, "could not connect", conn.get(), secret);

    for (PostgresPollingStatusType state = PGRES_POLLING_WRITING; state != PGRES_POLLING_OK;) {
        if (state == PGRES_POLLING_FAILED)
            throw impl::connection_error(ErrorKind::unavailable, "could not connect", conn.get(), secret);
        if (state == PGRES_POLLING_READING || state == PGRES_POLLING_WRITING) {
            // The socket may change between attempts (several hosts, SSL fallback): ask each time.
            const auto ready = wait_socket(PQsocket(conn.get()), state == PGRES_POLLING_READING,
                                           state == PGRES_POLLING_WRITING, limit);
            if (ready == SocketWait::timed_out) {
                throw deadline_first
                    ? error(ErrorKind::timeout, "deadline passed while connecting")
                    : ClientError{ErrorKind::unavailable, Dependency::postgres,
                                  "no connection within " + impl::ms_text(options.connect_timeout),
                                  Cause::timeout};
            }
            if (ready == SocketWait::failed)
                throw error(ErrorKind::unavailable, "could not connect: poll failed");
        }
        state = PQconnectPoll(conn.get());
    }
    if (PQsetnonblocking(conn.get(), 1) != 0)
        throw impl::connection_error(ErrorKind::unavailable, "could not set non-blocking mode", conn.get(),
                                     secret);
    return Connection{conn.release(), std::move(secret), options.cancel_grace};
}

void Connection::require_open() const {
    if (!is_open()) throw error(ErrorKind::unavailable, "connection is closed");
}

void Connection::lost(std::string_view what) {
    auto e = impl::connection_error(ErrorKind::unavailable, what, conn_, secret_);
    close();
    throw e;
}

Result Connection::query(const std::string& sql, const Params& params, Deadline deadline) {
    require_open();
    if (deadline.passed()) throw error(ErrorKind::timeout, "deadline passed before the statement was sent");
    if (params.size() > 65535) throw error(ErrorKind::rejected, "too many parameters");
    std::vector<const char*> values;
    values.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i];
        if (p && p->find('\0') != std::string::npos)
            throw error(ErrorKind::invalid_data,
                        "parameter $" + std::to_string(i + 1) + " contains a NUL byte (U+0000)");
        values.push_back(p ? p->c_str() : nullptr);
    }
    if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                           nullptr, nullptr, 0)) {
        if (PQstatus(conn_) == CONNECTION_BAD) lost("connection lost");
        throw impl::connection_error(ErrorKind::rejected, "could not send the statement", conn_, secret_);
    }
    return finish(deadline);
}

void Connection::execute_script(const std::string& sql, Deadline deadline) {
    require_open();
    if (deadline.passed()) throw error(ErrorKind::timeout, "deadline passed before the script was sent");
    if (!PQsendQuery(conn_, sql.c_str())) {
        if (PQstatus(conn_) == CONNECTION_BAD) lost("connection lost");
        throw impl::connection_error(ErrorKind::rejected, "could not send the script", conn_, secret_);
    }
    finish(deadline);
}

void Connection::flush(Deadline deadline) {
    for (;;) {
        const int pending = PQflush(conn_);
        if (pending == 0) return;
        if (pending < 0) lost("connection lost while sending");
        const auto ready = wait_socket(PQsocket(conn_), true, true, deadline);
        if (ready == SocketWait::timed_out) {
            close();  // half a message is on the wire: the session cannot be reused
            throw error(ErrorKind::timeout, "deadline passed while sending the statement");
        }
        if (ready == SocketWait::failed || !PQconsumeInput(conn_)) lost("connection lost while sending");
    }
}

void Connection::send_cancel() noexcept {
    if (PGcancel* cancel = PQgetCancel(conn_)) {
        std::array<char, 256> reason{};
        PQcancel(cancel, reason.data(), static_cast<int>(reason.size()));  // failure shows as no answer below
        PQfreeCancel(cancel);
    }
}

// Reads every result of the statement in flight. Past the deadline the statement is
// canceled and given cancel_grace to end; a session that does not answer is dropped.
Result Connection::finish(Deadline deadline) {
    flush(deadline);
    OwnedResult last;
    OwnedResult failed;
    bool canceled = false;
    Deadline limit = deadline;
    for (;;) {
        while (PQisBusy(conn_)) {
            const auto ready = wait_socket(PQsocket(conn_), true, false, limit);
            if (ready == SocketWait::timed_out) {
                if (canceled) {
                    close();
                    throw error(ErrorKind::timeout,
                                "statement exceeded its deadline; the cancel went unanswered");
                }
                send_cancel();
                canceled = true;
                limit = Deadline::after(cancel_grace_);
                continue;
            }
            if (ready == SocketWait::failed || !PQconsumeInput(conn_)) lost("connection lost");
        }
        PGresult* r = PQgetResult(conn_);
        if (!r) break;
        switch (PQresultStatus(r)) {
            case PGRES_FATAL_ERROR:
                if (!failed)
                    failed.reset(r);
                else
                    PQclear(r);
                break;
            case PGRES_COPY_IN:
            case PGRES_COPY_OUT:
            case PGRES_COPY_BOTH:
                PQclear(r);
                close();
                throw error(ErrorKind::rejected, "COPY is not supported");
            default:
                last.reset(r);
        }
    }
    if (failed) {
        auto e = impl::statement_error(failed.get(), conn_, secret_);
        if (PQstatus(conn_) == CONNECTION_BAD) close();
        if (canceled && e.kind() == ErrorKind::timeout)
            throw error(ErrorKind::timeout, "statement exceeded its deadline and was canceled");
        throw e;
    }
    return Result{last.release()};  // completed, even if it took past the deadline
}

void Connection::rollback_quietly() noexcept {
    if (!conn_ || !in_transaction()) return;
    try {
        query("ROLLBACK", {}, Deadline::after(cancel_grace_));
    } catch (...) {
        close();
    }
    if (in_transaction()) close();
}

}  // namespace cvgate::clients::postgres
