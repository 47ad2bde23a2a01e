#pragma once
// cvgate end to end: a real app::Application on a loopback port in front of the `stack`
// fixture's real servers, spoken to over real sockets, and the stores behind it read
// directly (MongoDB with the project's client, PostgreSQL with its own connection, the
// queue with a rabbitmq-c consumer of the test's own) to prove what each request left there.

#include "http/server_support.hpp"
#include "integration/queue_inspector.hpp"

#include <cvgate/app/application.hpp>
#include <cvgate/app/config.hpp>
#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/clients/postgres/params.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::test {

// ---- What the tests upload -------------------------------------------------------------

// A small but real PDF; `label` makes its bytes unique.
std::string pdf_bytes(std::string_view label);
// A real minimal DOCX (a ZIP holding word/document.xml), built by python3's zipfile once.
const std::string& docx_bytes();

// A multipart/form-data body with a fixed boundary, built part by part.
class Multipart {
public:
    static constexpr std::string_view boundary = "----cvgateApiTestBoundary7MA4YWxkTrZu0gW";

    Multipart& field(std::string_view name, std::string_view value);
    // A file part `files` with `filename="<raw bytes>"`, written as given (no escaping).
    Multipart& file(std::string_view filename, std::string_view bytes,
                    std::string_view content_type = "application/octet-stream");
    // A file part whose Content-Disposition parameters are given whole (e.g. filename*=...).
    Multipart& file_with_disposition(std::string_view disposition_params, std::string_view bytes);
    std::string body() const;  // with the closing delimiter
    static std::string content_type();

private:
    void part(std::string_view disposition_params, std::string_view content_type, std::string_view bytes);
    std::string parts_;
};

// The usual form: jd_text (a valid job description) and use_delay=false, then the files.
std::string job_description();

// ---- HTTP ----------------------------------------------------------------------------

struct Answer {
    unsigned status = 0;
    Reply raw;
    boost::json::value json;  // null when the body is not JSON
    std::string header(std::string_view name) const;
    const boost::json::object& object() const;  // fails the test unless the body is an object
};

// One request on a connection of its own. `headers`: extra lines, each ending in "\r\n".
// A body is sent with Content-Length unless `headers` says Transfer-Encoding (then `body`
// must already be chunked).
Answer send_request(std::uint16_t port, std::string_view method, std::string_view target,
                    std::string_view headers = {}, std::string_view body = {});

// ---- JSON ----------------------------------------------------------------------------

std::set<std::string> keys_of(const boost::json::object& o);
std::string str(const boost::json::value& v);  // the string, or fails the test
bool matches(const std::string& text, const std::string& regex);
inline const std::string uuid_v4_regex =
    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
// datetime.utcnow().isoformat(): microseconds, no zone.
inline const std::string timestamp_regex = R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$)";

// ---- The queue -----------------------------------------------------------------------

// ---- The file system -----------------------------------------------------------------

// Every regular file and directory under `root`, as paths relative to it, sorted; replicas'
// heartbeats (`.incoming/*.alive`) left out.
std::vector<std::string> tree(const std::string& root);
std::string read_file(const std::string& path);

// ---- Running coroutines from a test --------------------------------------------------

template <typename T>
T run(boost::asio::awaitable<T> work) {
    boost::asio::io_context io;
    auto done = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
    io.run();
    return done.get();
}

// Polls `condition` every 20 ms until it holds or `limit` passes; whether it held.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::milliseconds{3000});

// ---- The gateway under test ----------------------------------------------------------

// cvgate in-process with a volume, a MongoDB database and a job queue of its own, so that
// no two tests (or runs) see each other's data; PostgreSQL is shared, jobs being UUIDs.
// The destructor stops cvgate and drops the database, the queue and the volume.
class Gateway {
public:
    using Tweak = std::function<void(app::Config&)>;
    explicit Gateway(const Tweak& tweak = {});
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    std::uint16_t port() const { return app_->port(); }
    const app::Config& config() const { return config_; }
    const std::string& volume() const { return config_.upload_volume_path; }
    const std::string& dir() const { return dir_; }

    // Requests.
    Answer get(std::string_view target, std::string_view headers = {}) const;
    Answer post_form(std::string_view target, const Multipart& form, std::string_view headers = {}) const;
    Answer post(std::string_view target, std::string_view headers = {}) const;
    Answer del(std::string_view target) const;
    // Shuts cvgate down now, as SIGTERM does (the destructor then only cleans up).
    void stop() { app_->shutdown(); }
    // Waits until GET /readyz answers 200; fails the test after `limit`.
    void wait_ready(std::chrono::milliseconds limit = std::chrono::seconds{60}) const;

    // MongoDB, read and written directly (the results worker's part included).
    std::optional<boost::json::object> hot(const std::string& job_id) const;
    std::int64_t hot_count() const;
    // find_one on a filter of the test's choosing (e.g. {"expected_files": {"$type": "int"}}).
    bool hot_matches(boost::json::object filter) const;
    void push_result(const std::string& job_id, const boost::json::object& analysis) const;
    void push_error(const std::string& job_id, const boost::json::object& error) const;
    void set_status(const std::string& job_id, std::string_view status) const;
    void insert_hot(const boost::json::object& document) const;
    clients::mongo::Client& mongo() const { return *mongo_; }
    // Whether the MongoDB-wire server is FerretDB (buildInfo says so), which applies an update
    // as a read and a write without a transaction: concurrent $inc on one document get lost.
    bool hot_is_ferretdb() const;

    // The job queue: every message waiting, consumed (auto-ack).
    std::vector<QueuedMessage> take_messages() const;
    void delete_queue() const;

    // The upload volume: nothing but an empty `.incoming` (eventually: files dropped by a
    // rejected upload are removed on the blocking pool as the answer goes out).
    bool volume_is_empty() const;

    // Nothing of a failed submission anywhere: no file, no document, no message.
    void require_nothing_left() const;

    std::vector<std::string> volume_tree() const { return tree(volume()); }

private:
    std::string dir_;
    app::Config config_;
    std::unique_ptr<app::Application> app_;
    std::unique_ptr<exec::BlockingPool> blocking_;
    std::unique_ptr<clients::mongo::Client> mongo_;
};

// ---- The requests most tests make, and what they answer ------------------------------

// jd_text and `count` small PDFs named `{label}0.pdf`, `{label}1.pdf`...
Multipart form_with_pdfs(int count, std::string_view label = "cv");
// The job id of a 202; fails the test for any other answer.
std::string accepted(const Answer& a);
// A job's cv ids start with the first 8 characters of its id.
std::string prefix_of(const std::string& job_id);
std::string sync_path(const std::string& job_id);
// What the AI stage produces for one CV: the contract's fields and some it does not list.
boost::json::object analysis(const std::string& cv_id, std::string_view name, boost::json::value score,
                             std::string_view file);
// JSON written as text in a test.
boost::json::value J(std::string_view text);
// A second cvgate on the same volume, MongoDB database and queue as `first`: another replica.
Gateway::Tweak replica_of(const Gateway& first);

// ---- PostgreSQL (cold storage), read directly ----------------------------------------

// The first column of the first row as an integer (a count(*)).
std::int64_t pg_count(const std::string& sql, const clients::postgres::Params& params);

// A session of the test's own, holding `LOCK TABLE ... IN EXCLUSIVE MODE` in an open
// transaction until release(): writers of that table wait, readers do not.
class TableLock {
public:
    explicit TableLock(const std::string& table);
    ~TableLock();
    void release();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// How many of cvgate's sessions are waiting for a lock in a statement starting with `prefix`.
std::int64_t sessions_waiting_on_lock(std::string_view prefix);

// ---- Dependency outages --------------------------------------------------------------

// Stops a server of the stack now and starts it again when destroyed, even when the test
// fails half-way (a test must never leave the stack broken for the next one).
class Outage {
public:
    explicit Outage(std::string service);
    ~Outage();
    void end();  // start the server again now

private:
    std::string service_;
    bool down_ = false;
};

}  // namespace cvgate::test
