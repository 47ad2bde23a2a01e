// Idempotency-Key on submit and add-cvs (CONTRACT.md, "Failure semantics"), end to end against
// the real servers: a retry gets the first answer and creates nothing more, whichever replica
// it reaches; the stores are read directly to prove it.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <cvgate/ids/uuid.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <string>

namespace {

namespace json = boost::json;
namespace pg = cvgate::clients::postgres;
using namespace cvgate::test;
using namespace std::chrono_literals;

std::string key_header(const std::string& key) { return "Idempotency-Key: " + key + "\r\n"; }
std::string fresh_key() { return "key-" + cvgate::ids::uuid_v4(); }

}  // namespace

TEST_CASE(
    "a submit retried with the same Idempotency-Key, on another replica, answers the first answer and "
    "creates no second job") {
    Gateway a;
    Gateway b{replica_of(a)};
    const std::string key = fresh_key();
    const auto form = form_with_pdfs(2);
    const auto first = a.post_form("/jobs/submit", form, key_header(key));
    const std::string id = accepted(first);
    const auto again = b.post_form("/jobs/submit", form, key_header(key) + "X-Correlation-ID: retry\r\n");
    REQUIRE(again.status == 202);
    CHECK(again.object() == first.object());
    CHECK(a.hot_count() == 1);
    CHECK(a.take_messages().size() == 1);
    CHECK(a.volume_tree().size() == 4);  // .incoming, the job directory, its two files

    // Without a key, or with another one, the same form is a new job.
    accepted(a.post_form("/jobs/submit", form));
    accepted(a.post_form("/jobs/submit", form, key_header(fresh_key())));
    CHECK(a.hot_count() == 3);
}

TEST_CASE("an add-cvs retried with the same Idempotency-Key gets the same cv ids and adds nothing more") {
    Gateway gw;
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    gw.take_messages();
    const std::string key = fresh_key();
    const auto form = form_with_pdfs(2, "more");
    const auto first = gw.post_form("/jobs/" + id + "/add-cvs", form, key_header(key));
    REQUIRE(first.status == 202);
    const auto again = gw.post_form("/jobs/" + id + "/add-cvs", form, key_header(key));
    REQUIRE(again.status == 202);
    CHECK(again.object() == first.object());
    CHECK(gw.hot(id)->at("expected_files") == 3);
    CHECK(gw.take_messages().size() == 1);
}

TEST_CASE("the same Idempotency-Key with another request is 422 and creates nothing") {
    Gateway gw;
    const std::string key = fresh_key();
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), key_header(key)));
    gw.take_messages();

    const auto other_file = gw.post_form("/jobs/submit", form_with_pdfs(1, "other"), key_header(key));
    CHECK(other_file.status == 422);
    CHECK_THAT(str(other_file.object().at("detail")), Catch::Contains("Idempotency-Key"));
    // The same form to another route is another request too.
    const auto other_route = gw.post_form("/jobs/" + id + "/add-cvs", form_with_pdfs(1), key_header(key));
    CHECK(other_route.status == 422);
    CHECK(gw.hot_count() == 1);
    CHECK(gw.hot(id)->at("expected_files") == 1);
    CHECK(gw.take_messages().empty());

    CHECK(gw.post_form("/jobs/submit", form_with_pdfs(1), key_header("not a key")).status == 400);
}

TEST_CASE("a retry whose first answer was lost gets that answer, and the job exists once") {
    Gateway gw;
    const std::string key = fresh_key();
    const auto form = form_with_pdfs(1);
    {
        // The request goes out whole and the client vanishes before reading the answer.
        Client lost{gw.port()};
        lost.send("POST /jobs/submit HTTP/1.1\r\nHost: cvgate.test\r\nContent-Type: " +
                  Multipart::content_type() + "\r\n" + key_header(key) +
                  "Content-Length: " + std::to_string(form.body().size()) + "\r\n\r\n" + form.body());
    }
    const auto retry = gw.post_form("/jobs/submit", form, key_header(key));
    const std::string id = accepted(retry);
    CHECK(gw.hot(id));
    CHECK(gw.hot_count() == 1);
    CHECK(gw.take_messages().size() == 1);
}

TEST_CASE("a retry that arrives while the first request is still at work waits for it and gets its answer") {
    Gateway a;
    Gateway b{replica_of(a)};
    const std::string id = accepted(a.post_form("/jobs/submit", form_with_pdfs(1)));
    a.take_messages();
    const std::string key = fresh_key();
    const auto form = form_with_pdfs(1, "slow");

    // The first add-cvs holds the key and waits for its cv ids behind a lock of the test's.
    TableLock lock{"cv_counters"};
    auto first = std::async(std::launch::async,
                            [&] { return a.post_form("/jobs/" + id + "/add-cvs", form, key_header(key)); });
    REQUIRE(eventually([] { return sessions_waiting_on_lock("INSERT INTO cv_counters") == 1; }, 10s));
    auto second = std::async(std::launch::async,
                             [&] { return b.post_form("/jobs/" + id + "/add-cvs", form, key_header(key)); });
    // The retry claims nothing and waits: still only one session at the lock.
    CHECK(eventually(
        [] {
            return pg_count(
                       "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cvgate' "
                       "AND query LIKE 'SELECT fingerprint, answer FROM idempotency_keys%'",
                       {}) >= 1;
        },
        10s));
    CHECK(sessions_waiting_on_lock("INSERT INTO cv_counters") == 1);
    lock.release();

    const auto one = first.get();
    const auto two = second.get();
    REQUIRE(one.status == 202);
    REQUIRE(two.status == 202);
    CHECK(one.object() == two.object());
    CHECK(a.hot(id)->at("expected_files") == 2);
    CHECK(a.take_messages().size() == 1);
}

TEST_CASE("an Idempotency-Key expires after IDEMPOTENCY_TTL_SECONDS: then the same request is a new job") {
    Gateway gw{[](cvgate::app::Config& c) { c.idempotency_ttl = std::chrono::seconds{3600}; }};
    const std::string key = fresh_key();
    const auto form = form_with_pdfs(1);
    const std::string first = accepted(gw.post_form("/jobs/submit", form, key_header(key)));
    // Kept for the configured time, not the default 24 h.
    CHECK(pg_count("SELECT count(*) FROM idempotency_keys WHERE key = $1 AND expires_at <= now() + interval "
                   "'1 hour' "
                   "AND expires_at > now() + interval '50 minutes'",
                   pg::Params{key}) == 1);
    CHECK(accepted(gw.post_form("/jobs/submit", form, key_header(key))) == first);

    // The hour passes (moved on in the database rather than waited for).
    pg_count(
        "WITH moved AS (UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1 "
        "RETURNING 1) SELECT count(*) FROM moved",
        pg::Params{key});
    const std::string second = accepted(gw.post_form("/jobs/submit", form, key_header(key)));
    CHECK(second != first);
    CHECK(gw.hot_count() == 2);
    CHECK(gw.take_messages().size() == 2);
}
