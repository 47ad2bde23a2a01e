#pragma once
// A transaction block on one connection: BEGIN when made, COMMIT by commit(), ROLLBACK
// when destroyed uncommitted (by an exception, say). Every statement in it shares one deadline.

#include <cvgate/clients/postgres/connection.hpp>

namespace cvgate::clients::postgres {

class Transaction {
public:
    // Sends BEGIN; throws ClientError like any statement.
    Transaction(Connection& conn, Deadline deadline);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    // Rolls back unless committed; a connection that cannot roll back is closed (and then
    // dropped by its pool), so no error escapes.
    ~Transaction();

    Result query(const std::string& sql, const Params& params = {});
    // Throws timeout if the deadline has passed (the work is then rolled back), or
    // rejected if an earlier statement failed and the server rolled back instead.
    void commit();

    Deadline deadline() const noexcept { return deadline_; }

private:
    Connection& conn_;
    Deadline deadline_;
    bool finished_ = false;
};

}  // namespace cvgate::clients::postgres
