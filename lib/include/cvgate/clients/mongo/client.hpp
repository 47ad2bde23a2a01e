#pragma once
// A MongoDB client for coroutines: documents in and out as Boost.JSON objects, every blocking
// mongo-c-driver call run on the blocking pool through a thread-safe connection pool and told
// to the observer (options.hpp, clients/call_observer.hpp), every failure a
// clients::ClientError. The public face, free of mongoc and bson; the driver's side (BSON <->
// JSON, handles, the pool, errors) is internal: lib/src/cvgate/clients/mongo/.

#include <cvgate/clients/mongo/options.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/exec/deadline.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::clients::mongo {

struct UpdateResult {
    std::int64_t matched = 0;
    std::int64_t modified = 0;
};

enum class ReturnDocument { before, after };

using Deadline = exec::Deadline;  // never: call_timeout from the call

// One pool of connections to one database. Thread-safe; copies share the pool. Operations
// throw ClientError: unavailable (no server, connection lost), timeout (deadline passed; with
// the call's settlement when it had been sent and may still take effect),
// conflict (duplicate key), rejected (anything else the server refuses, or a document with
// no BSON form).
class Client {
public:
    // Checks the URL (ClientError rejected when malformed); connects lazily.
    Client(Options options, exec::BlockingPool::executor_type blocking);

    const std::string& database() const noexcept;

    // Each call may name the caller's operation it serves (`name`, a literal): the observer
    // (Options::observer) is told of the call under it.
    boost::asio::awaitable<void> insert_one(std::string collection, boost::json::object document,
                                            Deadline deadline = {}, std::string_view name = {});
    boost::asio::awaitable<std::optional<boost::json::object>> find_one(std::string collection,
                                                                        boost::json::object filter,
                                                                        Deadline deadline = {},
                                                                        std::string_view name = {});
    boost::asio::awaitable<UpdateResult> update_one(std::string collection, boost::json::object filter,
                                                    boost::json::object update, Deadline deadline = {},
                                                    std::string_view name = {});
    // findAndModify: the matching document as it was before or after `update`; nullopt when
    // none matched.
    boost::asio::awaitable<std::optional<boost::json::object>> find_one_and_update(
        std::string collection, boost::json::object filter, boost::json::object update,
        ReturnDocument which = ReturnDocument::before, Deadline deadline = {}, std::string_view name = {});
    // How many documents were deleted: 0 or 1.
    boost::asio::awaitable<std::int64_t> delete_one(std::string collection, boost::json::object filter,
                                                    Deadline deadline = {}, std::string_view name = {});
    // Any database command on this client's database (e.g. {"dropDatabase": 1}); its reply.
    boost::asio::awaitable<boost::json::object> run_command(boost::json::object command,
                                                            Deadline deadline = {});
    boost::asio::awaitable<void> ping(Deadline deadline = {}, std::string_view name = {});

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Where mongo-c-driver's own diagnostics go, process-wide, from the first client to the
// driver's clean-up at exit. Without a sink, warnings and errors are written to stderr as one
// JSON object per line and the rest is dropped.
enum class DriverLogLevel { debug, info, warning, error };
using DriverLogSink = std::function<void(DriverLogLevel, std::string_view domain, std::string_view message)>;
void set_driver_log_sink(DriverLogSink sink);

}  // namespace cvgate::clients::mongo
