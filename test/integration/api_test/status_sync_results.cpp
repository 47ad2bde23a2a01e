// GET status, POST sync and GET results end to end: a sync moves a complete job into cold
// storage once, however many syncs run at once or results arrive meanwhile; the hot store
// deletes only what a sync read; unknown and malformed job ids.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <cvgate/adapters/mongo_hot_store.hpp>
#include <cvgate/clients/client_error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <set>
#include <string>
#include <thread>

namespace {

namespace json = boost::json;
namespace pg = cvgate::clients::postgres;
using namespace cvgate::test;
using namespace std::chrono_literals;

}  // namespace

TEST_CASE("syncing a job that is not complete is 409 with message, status, processed and expected_files") {
    Gateway gw;
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(2)));
    gw.push_result(id, analysis(prefix_of(id) + "_000", "A", 50, "cv0.pdf"));

    const auto a = gw.post(sync_path(id));
    CHECK(a.status == 409);
    const auto& detail = a.object().at("detail").as_object();
    CHECK(keys_of(detail) == std::set<std::string>{"message", "status", "processed", "expected_files"});
    CHECK(detail.at("message").is_string());
    CHECK(detail.at("status") == "pending");
    CHECK(detail.at("processed") == 1);
    CHECK(detail.at("expected_files") == 2);
    CHECK(gw.hot(id));
    CHECK(pg_count("SELECT count(*) FROM jobs WHERE id = $1", pg::Params{id}) == 0);

    CHECK(gw.post(sync_path("6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f")).status == 404);
}

TEST_CASE("two syncs of one job inside PostgreSQL at the same time store each CV once") {
    Gateway gw;
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(3)));
    const std::string p = prefix_of(id);
    for (int i = 0; i < 3; ++i)
        gw.push_result(id, analysis(p + "_00" + std::to_string(i), "N", 40 + i, "cv.pdf"));
    gw.set_status(id, "complete");

    // Both syncs read the document, then wait in their transactions until the lock goes.
    TableLock lock{"cv_analyses"};
    auto one = std::async(std::launch::async, [&] { return gw.post(sync_path(id)); });
    auto two = std::async(std::launch::async, [&] { return gw.post(sync_path(id)); });
    const bool both_waiting = eventually([] { return sessions_waiting_on_lock("INSERT INTO") >= 2; }, 4s);
    lock.release();
    const auto a = one.get(), b = two.get();
    CHECK(both_waiting);

    REQUIRE(a.status == 200);
    REQUIRE(b.status == 200);
    CHECK(a.object().at("synced_cvs").as_int64() + b.object().at("synced_cvs").as_int64() == 3);
    // The loser's clean-up finds the document gone, not changed: no "kept for the next sync".
    CHECK_FALSE(a.object().contains("note"));
    CHECK_FALSE(b.object().contains("note"));
    CHECK(pg_count("SELECT count(*) FROM cv_analyses WHERE job_id = $1", pg::Params{id}) == 3);
    CHECK(pg_count("SELECT count(*) FROM jobs WHERE id = $1 AND total_cvs = 3", pg::Params{id}) == 1);
    CHECK_FALSE(gw.hot(id));
}

TEST_CASE(
    "results appended while a sync runs keep the hot document for the next sync, which stores only the new "
    "CV") {
    Gateway gw;
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(2)));
    const std::string p = prefix_of(id);
    gw.push_result(id, analysis(p + "_000", "A", 50, "cv0.pdf"));
    gw.push_result(id, analysis(p + "_001", "B", 60, "cv1.pdf"));
    gw.set_status(id, "complete");

    // The sync has read the document (2 results) and waits inside its transaction...
    TableLock lock{"cv_analyses"};
    auto syncing = std::async(std::launch::async, [&] { return gw.post(sync_path(id)); });
    const bool waiting = eventually([] { return sessions_waiting_on_lock("INSERT INTO") >= 1; }, 4s);
    // ...while a CV is added and the results worker finishes it.
    Multipart more;
    more.field("jd_text", job_description()).file("late.pdf", pdf_bytes("late"));
    const bool added = gw.post_form("/jobs/" + id + "/add-cvs", more).status == 202;
    gw.push_result(id, analysis(p + "_002", "C", 70, "late.pdf"));
    gw.set_status(id, "complete");
    lock.release();
    const auto first = syncing.get();
    REQUIRE(waiting);
    REQUIRE(added);

    REQUIRE(first.status == 200);
    CHECK(first.object().at("synced_cvs") == 2);
    const auto kept = gw.hot(id);
    REQUIRE(kept);  // the version synced had 2 results; this one has 3
    CHECK(kept->at("results").as_array().size() == 3);

    // The next sync sees all three again and stores only the new one.
    const auto second = gw.post(sync_path(id));
    REQUIRE(second.status == 200);
    CHECK(second.object().at("synced_cvs") == 1);
    CHECK(pg_count("SELECT count(*) FROM cv_analyses WHERE job_id = $1", pg::Params{id}) == 3);
    CHECK(second.object().at("job").as_object().at("total_cvs") == 3);
    CHECK_FALSE(gw.hot(id));
}

TEST_CASE("the hot store deletes only the version a sync read") {
    Gateway gw;
    cvgate::adapters::MongoHotStore store{gw.mongo()};
    const std::string id = "7a1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f";
    json::object doc{{"_id", id},
                     {"correlation_id", "c"},
                     {"jd_text", job_description()},
                     {"status", "complete"},
                     {"expected_files", 2},
                     {"results", J(R"([{"cv_id": "7a1c1d5e_000"}, {"cv_id": "7a1c1d5e_001"}])")},
                     {"errors", json::array{}},
                     {"created_at", "2025-11-17T10:30:00.000000"}};
    gw.insert_hot(doc);

    CHECK_FALSE(run(store.remove_if_unchanged(id, {"complete", 1, 0})));  // one result more since
    CHECK_FALSE(run(store.remove_if_unchanged(id, {"pending", 2, 0})));
    CHECK_FALSE(run(store.remove_if_unchanged(id, {"complete", 2, 1})));
    CHECK(gw.hot(id));
    CHECK(run(store.remove_if_unchanged(id, {"complete", 2, 0})));
    CHECK_FALSE(gw.hot(id));
}

// Every helper here runs a call on an io_context of its own and destroys it at once, as
// any short-lived caller may (a CLI, a migration thread, a shutdown): nothing of the call
// may outlive it on the blocking pool. (Under ASan this caught a use-after-free.)
TEST_CASE(
    "a caller may destroy its io_context as soon as a MongoDB call returned, in time or past its deadline") {
    Gateway gw;
    for (int i = 0; i < 50; ++i) {
        {
            boost::asio::io_context io;
            json::object filter{{"_id", "none"}};
            auto found = boost::asio::co_spawn(io, gw.mongo().find_one("jobs", std::move(filter)),
                                               boost::asio::use_future);
            io.run();
            CHECK_FALSE(found.get());
        }
        {
            boost::asio::io_context io;
            json::object filter{{"_id", "none"}};
            const auto past = cvgate::exec::Deadline::at(std::chrono::steady_clock::now() - 1ms);
            auto late = boost::asio::co_spawn(io, gw.mongo().find_one("jobs", std::move(filter), past),
                                              boost::asio::use_future);
            io.run();
            CHECK_THROWS_AS(late.get(), cvgate::clients::ClientError);
        }
    }
    std::this_thread::sleep_for(200ms);  // what the pool still held goes now
}

TEST_CASE("a job id that is not a UUID is 400 on every job route") {
    Gateway gw;
    for (const std::string target :
         {"/jobs/not-a-uuid/status", "/jobs/550e8400e29b41d4a716446655440000/results",
          "/jobs/..%2F..%2Fetc/status"}) {
        const auto a = gw.get(target);
        INFO(target);
        CHECK(a.status == 400);
        CHECK(a.object().at("detail").is_string());
    }
    CHECK(gw.post("/jobs/xyz/sync").status == 400);
    CHECK(gw.del("/jobs/xyz/candidates/xyz_000").status == 400);
    const auto add = gw.post_form("/jobs/xyz/add-cvs", form_with_pdfs(1));
    CHECK(add.status == 400);
    gw.require_nothing_left();
}

TEST_CASE("an unknown job is 404 with a JSON detail on status, results and sync") {
    Gateway gw;
    const std::string id = "6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f";
    const auto status = gw.get("/jobs/" + id + "/status");
    CHECK(status.status == 404);
    CHECK(status.object().at("detail") == "Job not found");
    const auto results = gw.get("/jobs/" + id + "/results");
    CHECK(results.status == 404);
    CHECK_THAT(str(results.object().at("detail")), Catch::Contains("sync"));
    CHECK(gw.post(sync_path(id)).status == 404);
}
