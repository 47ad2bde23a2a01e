#include <cvgate/clients/postgres/transaction.hpp>

#include <cvgate/clients/postgres/impl/errors.hpp>

namespace cvgate::clients::postgres {

Transaction::Transaction(Connection& conn, Deadline deadline) : conn_{conn}, deadline_{deadline} {
    conn_.query("BEGIN", {}, deadline_);
}

Transaction::~Transaction() {
    if (!finished_) conn_.rollback_quietly();
}

Result Transaction::query(const std::string& sql, const Params& params) {
    if (finished_) throw impl::error(ErrorKind::rejected, "transaction already committed");
    return conn_.query(sql, params, deadline_);
}

void Transaction::commit() {
    if (finished_) throw impl::error(ErrorKind::rejected, "transaction already committed");
    // Checked here, not only in query(): work that ran past the deadline must not commit.
    if (deadline_.passed()) throw impl::error(ErrorKind::timeout, "deadline passed before COMMIT");
    Result r = conn_.query("COMMIT", {}, deadline_);
    finished_ = true;
    // COMMIT of a block in which a statement failed (its error caught and ignored) rolls back.
    if (r.command_tag() == "ROLLBACK")
        throw impl::error(ErrorKind::rejected, "transaction rolled back: a statement in it had failed");
}

}  // namespace cvgate::clients::postgres
