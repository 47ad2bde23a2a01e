// A dependency really stopped (MongoDB, RabbitMQ, PostgreSQL, the volume, the queue) while
// cvgate serves: 503 with Retry-After, the rollback proved in the other stores, readiness
// naming the dependency and nothing else, and the next request after it comes back served.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace {

namespace pg = cvgate::clients::postgres;
using namespace cvgate::test;
using namespace std::chrono_literals;

// What /readyz may say about a failed check: its category, never an address, a port or the
// driver's words (issue 9: the body held `127.0.0.1:33353` and libpq's `connection to server
// at "127.0.0.1", port 59229 failed`).
void require_readiness_body_says_only(const Answer& ready, const std::string& check,
                                      const std::set<std::string>& categories) {
    REQUIRE(ready.status == 503);
    const std::string& body = ready.raw.body();
    INFO(body);
    const auto& entry = ready.object().at("checks").as_object().at(check).as_object();
    CHECK(categories.count(str(entry.at("error"))) == 1);
    CHECK(keys_of(entry) == std::set<std::string>{"status", "latency_ms", "error"});
    CHECK_THAT(body, !Catch::Contains("127.0.0.1") && !Catch::Contains("localhost") &&
                         !Catch::Contains("connection to server") && !Catch::Contains("://") &&
                         !Catch::Contains("calling hello") && !Catch::Contains("socket"));
    for (const std::string& url :
         {stack_env().database_url, stack_env().mongo_url, stack_env().rabbitmq_url}) {
        const std::string port = url.substr(url.rfind(':') + 1, 5);
        const std::string digits = port.substr(0, port.find_first_not_of("0123456789"));
        CHECK_THAT(body, !Catch::Contains(digits));
    }
}

}  // namespace

TEST_CASE(
    "a MongoDB outage answers 503 with Retry-After, leaves no file and no message, and readiness names "
    "mongodb, and the next submit after it comes back succeeds") {
    Gateway gw;
    {
        Outage mongo{"mongo"};

        const auto ready = gw.get("/readyz");
        CHECK(ready.status == 503);
        const auto& checks = ready.object().at("checks").as_object();
        CHECK(checks.at("mongodb").as_object().at("status") != "ok");
        // The driver's server selection gives up on a refused connection, unless readiness'
        // own deadline comes first.
        require_readiness_body_says_only(ready, "mongodb", {"refused", "timeout"});
        CHECK(checks.at("postgresql").as_object().at("status") == "ok");
        CHECK(checks.at("rabbitmq").as_object().at("status") == "ok");
        CHECK(checks.at("volume").as_object().at("status") == "ok");

        const auto a = gw.post_form("/jobs/submit", form_with_pdfs(2));
        CHECK(a.status == 503);
        CHECK_FALSE(a.header("Retry-After").empty());
        const std::string detail = str(a.object().at("detail"));
        CHECK_THAT(detail, !Catch::Contains("mongodb://") && !Catch::Contains("127.0.0.1"));
        CHECK(gw.volume_is_empty());
        CHECK(gw.take_messages().empty());

        mongo.end();
    }
    CHECK(gw.hot_count() == 0);

    gw.wait_ready(30s);
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    CHECK(gw.hot(id));
    CHECK(gw.take_messages().size() == 1);
}

TEST_CASE(
    "a RabbitMQ outage leaves no file, no document and no message, and the next submit after it comes "
    "back succeeds") {
    Gateway gw;
    const std::string before =
        accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));  // connected, declared
    REQUIRE(gw.take_messages().size() == 1);
    {
        Outage rabbitmq{"rabbitmq"};

        const auto a = gw.post_form("/jobs/submit", form_with_pdfs(2));
        CHECK(a.status == 503);
        CHECK_FALSE(a.header("Retry-After").empty());
        CHECK_THAT(str(a.object().at("detail")), !Catch::Contains("amqp://") && !Catch::Contains("guest"));
        CHECK(gw.hot_count() == 1);  // the job from before the outage, only
        CHECK(eventually([&] { return gw.volume_tree().size() == 3; }));
        CHECK(gw.volume_tree() ==
              std::vector<std::string>{".incoming", before, before + "/" + prefix_of(before) + "_000.pdf"});

        const auto ready = gw.get("/readyz");
        CHECK(ready.status == 503);
        CHECK(ready.object().at("checks").as_object().at("rabbitmq").as_object().at("status") != "ok");
        // The first check after the broker went away may meet the lost connection ("error");
        // from the next one on, the reconnect is refused.
        require_readiness_body_says_only(ready, "rabbitmq", {"refused", "error"});
        require_readiness_body_says_only(gw.get("/readyz"), "rabbitmq", {"refused"});

        rabbitmq.end();
    }
    CHECK(gw.take_messages().empty());

    gw.wait_ready(60s);
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    const auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(str(messages[0].json.at("job_id")) == id);
    CHECK(gw.hot_count() == 2);
}

TEST_CASE(
    "a PostgreSQL outage makes sync and results 503 and keeps the hot document; submit and status go on; "
    "the sync after it comes back stores the job") {
    Gateway gw;
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(2)));
    const std::string p = prefix_of(id);
    gw.push_result(id, analysis(p + "_000", "Ada", 80, "a.pdf"));
    gw.push_result(id, analysis(p + "_001", "Bob", 60, "b.pdf"));
    gw.set_status(id, "complete");
    {
        Outage postgres{"postgres"};

        const auto sync = gw.post(sync_path(id));
        CHECK(sync.status == 503);
        CHECK_FALSE(sync.header("Retry-After").empty());
        CHECK_THAT(str(sync.object().at("detail")),
                   !Catch::Contains("postgresql://") && !Catch::Contains("127.0.0.1"));
        CHECK(gw.hot(id));  // nothing synced, nothing cleaned

        CHECK(gw.get("/jobs/" + id + "/results").status == 503);
        const auto ready = gw.get("/readyz");
        CHECK(ready.status == 503);
        CHECK(ready.object().at("checks").as_object().at("postgresql").as_object().at("status") != "ok");
        require_readiness_body_says_only(ready, "postgresql", {"refused"});

        // The hot path does not touch cold storage.
        CHECK(gw.get("/jobs/" + id + "/status").status == 200);
        const std::string during = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
        CHECK(gw.hot(during));

        postgres.end();
    }
    gw.wait_ready(60s);
    const auto synced = gw.post(sync_path(id));
    REQUIRE(synced.status == 200);
    CHECK(synced.object().at("synced_cvs") == 2);
    CHECK_FALSE(gw.hot(id));
    CHECK(pg_count("SELECT count(*) FROM cv_analyses WHERE job_id = $1", pg::Params{id}) == 2);
}

TEST_CASE(
    "the upload volume gone makes submit 503 with no document and no message, readiness names the volume, "
    "and submits succeed once it is back") {
    Gateway gw;
    const std::string away = gw.volume() + ".away";
    std::filesystem::rename(gw.volume(), away);
    {
        const auto a = gw.post_form("/jobs/submit", form_with_pdfs(2));
        CHECK(a.status == 503);
        CHECK_FALSE(a.header("Retry-After").empty());
        CHECK_THAT(str(a.object().at("detail")), !Catch::Contains(gw.volume()));
        CHECK(gw.hot_count() == 0);
        CHECK(gw.take_messages().empty());
        CHECK_FALSE(std::filesystem::exists(gw.volume()));  // nothing re-created it behind our back

        const auto ready = gw.get("/readyz");
        CHECK(ready.status == 503);
        const auto& checks = ready.object().at("checks").as_object();
        CHECK(checks.at("volume").as_object().at("status") != "ok");
        CHECK(checks.at("mongodb").as_object().at("status") == "ok");
    }
    std::filesystem::rename(away, gw.volume());
    CHECK(gw.volume_is_empty());
    gw.wait_ready(10s);
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    CHECK(gw.hot(id));
    CHECK(gw.take_messages().size() == 1);
}

TEST_CASE(
    "an unroutable publish (the queue was deleted) is 503 and leaves no file and no document, and the next "
    "submit declares the queue again and succeeds") {
    Gateway gw;
    const std::string before = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    REQUIRE(gw.take_messages().size() == 1);

    gw.delete_queue();  // mandatory publish with no queue bound to the routing key: returned
    const auto a = gw.post_form("/jobs/submit", form_with_pdfs(2));
    CHECK(a.status == 503);
    CHECK_FALSE(a.header("Retry-After").empty());
    CHECK(gw.hot_count() == 1);
    CHECK(eventually([&] { return gw.volume_tree().size() == 3; }));
    CHECK(gw.volume_tree() ==
          std::vector<std::string>{".incoming", before, before + "/" + prefix_of(before) + "_000.pdf"});

    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    const auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(str(messages[0].json.at("job_id")) == id);
}
