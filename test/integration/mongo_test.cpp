// The MongoDB client against the real MongoDB-wire server of the `stack` fixture (FerretDB,
// or mongod where one is installed): each promise the hot store relies on, proved on it.

#include "integration/stack_support.hpp"

#include <cvgate/clients/client_error.hpp>
#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
namespace mongo = cvgate::clients::mongo;
using cvgate::clients::ClientError;
using cvgate::clients::ErrorKind;
using std::chrono::steady_clock;

namespace {

// A database of its own for each test, dropped at the end, so that tests (and runs) never
// see each other's documents.
std::string fresh_database_name() {
    static int counter = 0;
    return "cvgate_it_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

mongo::Options test_options(std::string database) {
    mongo::Options options;
    options.url = cvgate::test::stack_env().mongo_url;
    options.database = std::move(database);
    options.server_selection_timeout = std::chrono::milliseconds{2000};
    options.connect_timeout = std::chrono::milliseconds{2000};
    options.socket_timeout = std::chrono::milliseconds{3000};
    options.call_timeout = std::chrono::seconds{20};
    return options;
}

struct Fixture {
    asio::io_context io;
    cvgate::exec::BlockingPool blocking{4};
    mongo::Client client{test_options(fresh_database_name()), blocking.executor()};
    const std::string jobs = "jobs";

    Fixture() = default;
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;
    ~Fixture() {
        try {
            run(client.run_command({{"dropDatabase", 1}}));
        } catch (...) {
            // best effort: the stack directory goes away with the fixture anyway
        }
    }

    // Runs one operation to completion on this test's io_context.
    template <typename T>
    T run(asio::awaitable<T> operation) {
        auto result = asio::co_spawn(io, std::move(operation), asio::use_future);
        io.restart();
        io.run();
        return result.get();
    }

    json::object must_find(const std::string& id) {
        auto found = run(client.find_one(jobs, {{"_id", id}}));
        REQUIRE(found);
        return std::move(*found);
    }
};

ErrorKind kind_of_failure(const std::function<void()>& call) {
    try {
        call();
    } catch (const ClientError& e) {
        INFO(e.what());
        CHECK(e.dependency() == cvgate::clients::Dependency::mongo);
        return e.kind();
    }
    FAIL("the call did not fail");
    return ErrorKind::rejected;
}

json::object job(const std::string& id) {
    return {{"_id", id},
            {"correlation_id", "corr-1"},
            {"jd_text", "We are looking for a backend engineer with C++ and MongoDB experience."},
            {"status", "pending"},
            {"expected_files", 3},
            {"results", json::array{}},
            {"errors", json::array{}},
            {"created_at", "2025-11-17T10:30:00.123456"}};
}

json::object analysis(const std::string& cv_id, int score) {
    return {
        {"cv_id", cv_id}, {"candidate_name", "Jane Roe"}, {"match_score", score}, {"recommendation", "Hire"}};
}

json::object by_id(const std::string& id) { return {{"_id", id}}; }

// FerretDB on PostgreSQL (the local stack's default) keeps documents as jsonb, which cannot
// hold U+0000; mongod and FerretDB on SQLite store it.
bool server_stores_nul() {
    std::ifstream env{cvgate::test::stack_env().stack_dir + "/env"};
    for (std::string line; std::getline(env, line);)
        if (line == "export FERRETDB_BACKEND=postgresql") return false;
    return true;
}

json::object push_result(json::object result) { return {{"$push", {{"results", std::move(result)}}}}; }

}  // namespace

TEST_CASE("insert then find returns the same document, every value type included", "[mongo]") {
    Fixture f;
    json::object document = json::parse(R"({
        "_id": "550e8400-e29b-41d4-a716-446655440000",
        "correlation_id": "abc-123",
        "jd_text": "Entwickler:in für Zürich gesucht — 日本語 OK — emoji 🚀 — Ελληνικά — עברית",
        "status": "pending",
        "expected_files": 3,
        "big": 9007199254740993,
        "negative": -2147483649,
        "score": 85.25,
        "integral_double": 2.0,
        "use_delay": true,
        "linkedin_url": null,
        "results": [{"cv_id": "550e8400_000", "skills": ["C++", "Asio"], "nested": {"deep": {"deeper": [1, {"in_array": [2, 3]}]}}}],
        "errors": [],
        "empty_object": {},
        "created_at": "2025-11-17T10:30:00.123456",
        "analyzed_at": {"$date": "2025-11-17T10:31:12.345Z"},
        "ref": {"$oid": "6553a1b2c3d4e5f601234567"}
    })")
                                .as_object();
    const bool with_nul = server_stores_nul();
    if (with_nul) document["with_nul"] = std::string{"before\0after", 12};

    f.run(f.client.insert_one(f.jobs, document));
    const json::object found = f.must_find("550e8400-e29b-41d4-a716-446655440000");
    CHECK(json::serialize(found) == json::serialize(document));
    if (with_nul) CHECK(found.at("with_nul").as_string().size() == 12);
    CHECK(found.at("integral_double").is_double());
}

TEST_CASE(
    "a string the server cannot store (U+0000 on FerretDB/PostgreSQL) is rejected, not retried as an outage",
    "[mongo]") {
    if (server_stores_nul()) return;  // mongod and FerretDB on SQLite store it: the case above
    Fixture f;
    json::object document = job("with-nul");
    document["jd_text"] = std::string{"before\0after", 12};
    CHECK(kind_of_failure([&] { f.run(f.client.insert_one(f.jobs, document)); }) == ErrorKind::rejected);
    CHECK_FALSE(f.run(f.client.find_one(f.jobs, by_id("with-nul"))).has_value());
}

TEST_CASE("the server keeps each value's BSON type: int32, int64, double, date, ObjectId", "[mongo]") {
    Fixture f;
    f.run(f.client.insert_one(f.jobs, json::parse(R"({"_id": "t", "small": 3, "big": 5000000000, "real": 1.0,
        "when": {"$date": "2025-11-17T10:30:00.000Z"}, "oid": {"$oid": "6553a1b2c3d4e5f601234567"},
        "text": "2025-11-17T10:30:00.123456"})")
                                          .as_object()));
    const auto has_type = [&](const char* field, const char* type) {
        return f.run(f.client.find_one(f.jobs, {{"_id", "t"}, {field, {{"$type", type}}}})).has_value();
    };
    CHECK(has_type("small", "int"));
    CHECK_FALSE(has_type("small", "long"));
    CHECK(has_type("big", "long"));
    CHECK(has_type("real", "double"));
    CHECK(has_type("when", "date"));
    CHECK(has_type("oid", "objectId"));
    CHECK(has_type("text", "string"));
}

TEST_CASE("a second insert with the same _id fails with conflict", "[mongo]") {
    Fixture f;
    f.run(f.client.insert_one(f.jobs, job("dup")));
    CHECK(kind_of_failure([&] { f.run(f.client.insert_one(f.jobs, job("dup"))); }) == ErrorKind::conflict);
    CHECK(f.must_find("dup").at("status") == "pending");
}

TEST_CASE("$push appends to results, $inc adds, $set replaces, $pull removes a candidate's stored entry",
          "[mongo]") {
    Fixture f;
    f.run(f.client.insert_one(f.jobs, job("j")));

    auto r =
        f.run(f.client.update_one(f.jobs, {{"_id", "j"}}, {{"$push", {{"results", analysis("j_000", 85)}}}}));
    CHECK(r.matched == 1);
    CHECK(r.modified == 1);
    f.run(f.client.update_one(f.jobs, {{"_id", "j"}}, {{"$push", {{"results", analysis("j_001", 40)}}}}));
    f.run(f.client.update_one(
        f.jobs, {{"_id", "j"}},
        {{"$push", {{"errors", {{"cv_id", "j_002"}, {"filename", "c.pdf"}, {"error", "unreadable"}}}}}}));

    r = f.run(f.client.update_one(f.jobs, {{"_id", "j"}}, {{"$inc", {{"expected_files", 2}}}}));
    CHECK(r.modified == 1);
    r = f.run(f.client.update_one(f.jobs, {{"_id", "j"}}, {{"$set", {{"status", "complete"}}}}));
    CHECK(r.modified == 1);

    json::object doc = f.must_find("j");
    CHECK(doc.at("expected_files") == 5);
    CHECK(doc.at("status") == "complete");
    REQUIRE(doc.at("results").as_array().size() == 2);
    CHECK(doc.at("results").as_array()[1] == analysis("j_001", 40));
    CHECK(doc.at("errors").as_array().size() == 1);

    // $pull is given the whole entry as stored (read back, member order kept): FerretDB 1.24
    // matches $pull values by equality only, and ignores a condition like {"cv_id": "j_000"}.
    const json::value entry = doc.at("results").as_array()[0];
    REQUIRE(entry.at("cv_id") == "j_000");
    r = f.run(f.client.update_one(f.jobs, {{"_id", "j"}}, {{"$pull", {{"results", entry}}}}));
    CHECK(r.matched == 1);
    CHECK(r.modified == 1);
    doc = f.must_find("j");
    REQUIRE(doc.at("results").as_array().size() == 1);
    CHECK(doc.at("results").as_array()[0].at("cv_id") == "j_001");
    // Key order of the document survives the updates.
    std::vector<std::string> keys;
    for (const auto& member : doc) keys.emplace_back(member.key());
    CHECK(keys == std::vector<std::string>{"_id", "correlation_id", "jd_text", "status", "expected_files",
                                           "results", "errors", "created_at"});

    // Setting a value to what it already is matches without modifying.
    r = f.run(f.client.update_one(f.jobs, {{"_id", "j"}}, {{"$set", {{"status", "complete"}}}}));
    CHECK(r.matched == 1);
    CHECK(r.modified == 0);
    r = f.run(f.client.update_one(f.jobs, {{"_id", "missing"}}, {{"$set", {{"status", "complete"}}}}));
    CHECK(r.matched == 0);
}

TEST_CASE("a candidate is found through $or on array fields and pulled from results and errors in one update",
          "[mongo]") {
    Fixture f;
    json::object doc = job("g");
    doc["results"] = json::array{analysis("g_000", 70), analysis("g_001", 80)};
    doc["errors"] = json::array{json::object{{"cv_id", "g_002"}, {"filename", "x.pdf"}, {"error", "bad"}}};
    f.run(f.client.insert_one(f.jobs, doc));

    // The portable recipe (MongoDB and FerretDB 1.24 alike): find the document holding the
    // cv, then $pullAll its entries exactly as stored; findAndModify returns the old version.
    const auto erase = [&](const std::string& cv_id) -> std::optional<json::object> {
        const json::object holding{
            {"_id", "g"}, {"$or", json::array{{{"results.cv_id", cv_id}}, {{"errors.cv_id", cv_id}}}}};
        const auto found = f.run(f.client.find_one(f.jobs, holding));
        if (!found) return std::nullopt;
        json::object pull_all;
        for (const char* list : {"results", "errors"}) {
            json::array entries;
            for (const auto& entry : found->at(list).as_array())
                if (entry.at("cv_id").as_string() == cv_id) entries.push_back(entry);
            pull_all[list] = std::move(entries);
        }
        return f.run(f.client.find_one_and_update(f.jobs, holding, {{"$pullAll", pull_all}},
                                                  mongo::ReturnDocument::before));
    };
    const auto before = erase("g_002");
    REQUIRE(before);
    CHECK(before->at("errors").as_array().size() == 1);
    CHECK(f.must_find("g").at("errors").as_array().empty());
    CHECK_FALSE(erase("g_002"));  // already gone: nothing matches
    CHECK(erase("g_001"));
    const json::object after = f.must_find("g");
    REQUIRE(after.at("results").as_array().size() == 1);
    CHECK(after.at("results").as_array()[0].at("cv_id") == "g_000");
}

TEST_CASE("findAndModify returns the document as it was, or as it became, and nothing when none matches",
          "[mongo]") {
    Fixture f;
    json::object doc = job("r");
    doc["status"] = "complete";
    f.run(f.client.insert_one(f.jobs, doc));

    // add-cvs: increment expected_files, back to pending, and learn the old status.
    const auto old = f.run(f.client.find_one_and_update(
        f.jobs, {{"_id", "r"}}, {{"$inc", {{"expected_files", 2}}}, {"$set", {{"status", "pending"}}}},
        mongo::ReturnDocument::before));
    REQUIRE(old);
    CHECK(old->at("status") == "complete");
    CHECK(old->at("expected_files") == 3);

    const auto now = f.run(f.client.find_one_and_update(
        f.jobs, {{"_id", "r"}}, {{"$inc", {{"expected_files", -2}}}}, mongo::ReturnDocument::after));
    REQUIRE(now);
    CHECK(now->at("expected_files") == 3);
    CHECK(now->at("status") == "pending");
    CHECK(json::serialize(*now) == json::serialize(f.must_find("r")));

    CHECK_FALSE(
        f.run(f.client.find_one_and_update(f.jobs, {{"_id", "nope"}}, {{"$set", {{"status", "x"}}}})));
}

TEST_CASE("a conditional delete removes only the version that was synced", "[mongo]") {
    Fixture f;
    json::object doc = job("s");
    doc["status"] = "complete";
    doc["results"] = json::array{analysis("s_000", 1), analysis("s_001", 2), analysis("s_002", 3)};
    f.run(f.client.insert_one(f.jobs, doc));
    const json::object synced_version{
        {"_id", "s"}, {"status", "complete"}, {"results", {{"$size", 3}}}, {"errors", {{"$size", 0}}}};

    // The results worker appends after the sync read the document: the delete must not match.
    f.run(f.client.update_one(
        f.jobs, {{"_id", "s"}},
        {{"$push", {{"errors", {{"cv_id", "s_003"}, {"filename", "d.pdf"}, {"error", "e"}}}}}}));
    CHECK(f.run(f.client.delete_one(f.jobs, synced_version)) == 0);
    CHECK(f.run(f.client.find_one(f.jobs, {{"_id", "s"}})));

    // The next sync reads the new version and deletes exactly that.
    const json::object next_version{
        {"_id", "s"}, {"status", "complete"}, {"results", {{"$size", 3}}}, {"errors", {{"$size", 1}}}};
    CHECK(f.run(f.client.delete_one(f.jobs, {{"_id", "s"}, {"status", "pending"}})) == 0);
    CHECK(f.run(f.client.delete_one(f.jobs, next_version)) == 1);
    CHECK_FALSE(f.run(f.client.find_one(f.jobs, {{"_id", "s"}})));
    CHECK(f.run(f.client.delete_one(f.jobs, next_version)) == 0);
}

TEST_CASE("a document with no BSON form is rejected before anything is sent", "[mongo]") {
    Fixture f;
    json::object doc = job("u");
    doc["too_big"] = std::numeric_limits<std::uint64_t>::max();
    CHECK(kind_of_failure([&] { f.run(f.client.insert_one(f.jobs, doc)); }) == ErrorKind::rejected);
    CHECK_FALSE(f.run(f.client.find_one(f.jobs, {{"_id", "u"}})));
}

TEST_CASE("an operator the server does not know is rejected, not retried or hung", "[mongo]") {
    Fixture f;
    f.run(f.client.insert_one(f.jobs, job("o")));
    CHECK(kind_of_failure([&] {
              f.run(f.client.update_one(f.jobs, {{"_id", "o"}}, {{"$bogus", {{"a", 1}}}}));
          }) == ErrorKind::rejected);
}

TEST_CASE("ping answers, and run_command reaches the client's database", "[mongo]") {
    Fixture f;
    f.run(f.client.ping());
    f.run(f.client.insert_one(f.jobs, job("c1")));
    f.run(f.client.insert_one(f.jobs, job("c2")));
    const json::object reply = f.run(f.client.run_command({{"count", f.jobs}}));
    CHECK(reply.at("n").to_number<std::int64_t>() == 2);
}

TEST_CASE("a call whose deadline has passed fails with timeout and never runs", "[mongo]") {
    Fixture f;
    CHECK(kind_of_failure([&] {
              f.run(f.client.insert_one(
                  f.jobs, job("late"),
                  cvgate::exec::Deadline::at(steady_clock::now() - std::chrono::seconds{1})));
          }) == ErrorKind::timeout);
    CHECK_FALSE(f.run(f.client.find_one(f.jobs, {{"_id", "late"}})));
}

TEST_CASE(
    "a server that is not there fails with unavailable within the selection timeout, credentials unsaid",
    "[mongo]") {
    asio::io_context io;
    cvgate::exec::BlockingPool blocking{1};
    mongo::Options options;
    options.url = "mongodb://admin:s3cr3t-pw@127.0.0.1:1/?authSource=admin";
    options.server_selection_timeout = std::chrono::milliseconds{1000};
    mongo::Client client{options, blocking.executor()};
    const auto start = steady_clock::now();
    auto result = asio::co_spawn(io, client.ping(), asio::use_future);
    io.run();
    try {
        result.get();
        FAIL("ping succeeded on a closed port");
    } catch (const ClientError& e) {
        INFO(e.what());
        CHECK(e.kind() == ErrorKind::unavailable);
        CHECK_THAT(e.what(), !Catch::Contains("s3cr3t-pw"));
    }
    CHECK(steady_clock::now() - start < std::chrono::seconds{5});
}

TEST_CASE(
    "a call on a stopped server fails with unavailable within its timeout, and the next call after restart "
    "succeeds on the same client",
    "[mongo][outage]") {
    Fixture f;
    f.run(f.client.insert_one(f.jobs, job("before-outage")));

    struct RestartMongo {
        ~RestartMongo() {
            try {
                cvgate::test::stack_ctl("start mongo");
            } catch (const std::exception& e) {
                WARN("could not restart mongo: " << e.what());
            }
        }
    } restart_on_exit;
    cvgate::test::stack_ctl("stop mongo");

    // The first call after the outage finds a dead pooled connection, the second finds no
    // server at all: both fail fast with unavailable.
    for (int attempt = 0; attempt < 2; ++attempt) {
        const auto start = steady_clock::now();
        CHECK(kind_of_failure([&] {
                  f.run(f.client.find_one(f.jobs, {{"_id", "before-outage"}}));
              }) == ErrorKind::unavailable);
        const auto took = steady_clock::now() - start;
        INFO("attempt " << attempt << " took "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
        CHECK(took < std::chrono::seconds{10});
    }
    CHECK(kind_of_failure([&] { f.run(f.client.insert_one(f.jobs, job("during-outage"))); }) ==
          ErrorKind::unavailable);

    cvgate::test::stack_ctl("start mongo");
    CHECK(f.must_find("before-outage").at("status") == "pending");
    f.run(f.client.insert_one(f.jobs, job("after-outage")));
    f.run(f.client.ping());
}

TEST_CASE("operations from many coroutines at once all complete", "[mongo]") {
    Fixture f;
    constexpr int workers = 64;
    constexpr int rounds = 5;
    std::atomic<int> done{0};
    // (The documents are built outside the coroutine: see the GCC 12 note in
    // exec/offload.hpp.)
    const auto worker = [&](int w) -> asio::awaitable<void> {
        const std::string id = "w" + std::to_string(w);
        co_await f.client.insert_one(f.jobs, job(id));
        for (int i = 0; i < rounds; ++i) {
            co_await f.client.update_one(f.jobs, by_id(id),
                                         push_result(analysis(id + "_" + std::to_string(i), i)));
            auto found = co_await f.client.find_one(f.jobs, by_id(id));
            if (found && found->at("results").as_array().size() == static_cast<std::size_t>(i + 1)) ++done;
        }
    };
    std::vector<std::future<void>> results;
    for (int w = 0; w < workers; ++w) results.push_back(asio::co_spawn(f.io, worker(w), asio::use_future));
    f.io.restart();
    f.io.run();
    for (auto& r : results) CHECK_NOTHROW(r.get());
    CHECK(done == workers * rounds);
    const json::object reply = f.run(f.client.run_command({{"count", f.jobs}}));
    CHECK(reply.at("n").to_number<std::int64_t>() == workers);
}
