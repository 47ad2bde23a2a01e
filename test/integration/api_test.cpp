// cvgate end to end, over HTTP, against the real servers of the `stack` fixture: each test
// states a promise of CONTRACT.md and proves it on the volume, in MongoDB, on the queue and
// in PostgreSQL, read directly rather than through cvgate.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <cvgate/adapters/mongo_hot_store.hpp>
#include <cvgate/clients/client_error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace pg = cvgate::clients::postgres;
using namespace cvgate::test;
using namespace std::chrono_literals;

json::value J(std::string_view text) { return json::parse(text); }

std::string prefix_of(const std::string& job_id) { return job_id.substr(0, 8); }

// The job id of a 202; fails the test for any other answer.
std::string accepted(const Answer& a) {
    INFO("status " << a.status << ": " << a.raw.body());
    REQUIRE(a.status == 202);
    return str(a.object().at("job_id"));
}

Multipart form_with_pdfs(int count, std::string_view label = "cv") {
    Multipart form;
    form.field("jd_text", job_description());
    for (int i = 0; i < count; ++i) {
        const std::string name = std::string{label} + std::to_string(i);
        form.file(name + ".pdf", pdf_bytes(name), "application/pdf");
    }
    return form;
}

// What the AI stage produces for one CV: the contract's fields and some it does not list.
json::object analysis(const std::string& cv_id, std::string_view name, json::value score,
                      std::string_view file) {
    json::object a{
        {"cv_id", cv_id},
        {"original_filename", file},
        {"candidate_name", name},
        {"match_score", std::move(score)},
        {"email", "candidate@example.com"},
        {"phone", "+1234567890"},
        {"skills", J(R"(["C++", "Boost.Asio", "PostgreSQL"])")},
        {"experience_years", 5},
        {"education", "Bachelor's in Computer Science"},
        {"recommendation", "Strong Hire"},
        {"key_strengths", J(R"(["Strong backend experience", "Cloud native"])")},
        {"concerns", json::array{}},
        {"summary_headline", "Backend engineer who ships"},
        {"conceptual_matches", J(R"([{"jd_concept": "async I/O", "cv_evidence": "Asio coroutines"}])")},
        // Arrays in objects in arrays: FerretDB refuses an array directly inside an array.
        {"skill_gaps", J(R"([{"skill": "Kubernetes", "severity": "minor", "related": ["Helm"]},
                             {"skill": "Go", "severity": "major", "related": ["gRPC", "protobuf"]}])")},
        {"risk_assessment", J(R"({"level": "Low", "factors": [], "score": 0.25})")},
        {"linkedin_url", nullptr}};
    return a;
}

std::string sync_path(const std::string& id) { return "/jobs/" + id + "/sync"; }

// The analysis as GET results serves it is the pipeline's document, every field kept, plus analyzed_at.
void require_round_trip(const json::object& served, const json::object& produced) {
    INFO("served:   " << json::serialize(served) << "\nproduced: " << json::serialize(produced));
    auto expected_keys = keys_of(produced);
    expected_keys.insert("analyzed_at");
    CHECK(keys_of(served) == expected_keys);
    for (const auto& kv : produced) CHECK(served.at(kv.key()) == kv.value());
    CHECK(matches(str(served.at("analyzed_at")), timestamp_regex));
}

}  // namespace

// ---- The whole journey ---------------------------------------------------------------

TEST_CASE("a submission is stored, queued, tracked, synced and served exactly as the contract says") {
    Gateway gw;
    const std::string resume1 = pdf_bytes("resume one"), resume2 = pdf_bytes("resume two");
    Multipart form;
    form.field("jd_text", job_description())
        .field("use_delay", "false")
        .file("resume1.pdf", resume1, "application/pdf")
        .file("notes.txt", "just some notes", "text/plain")
        .file("resume2.PDF", resume2, "application/pdf")
        .file("resume3.docx", docx_bytes(),
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document");

    // 202, field by field.
    const auto submitted = gw.post_form("/jobs/submit", form, "X-Correlation-ID: abc-123.happy:path_1\r\n");
    const std::string id = accepted(submitted);
    const auto& body = submitted.object();
    const std::string p = prefix_of(id);
    CHECK(keys_of(body) == std::set<std::string>{"job_id", "correlation_id", "status", "file_count",
                                                 "cv_details", "warnings"});
    CHECK(matches(id, uuid_v4_regex));
    CHECK(body.at("correlation_id") == "abc-123.happy:path_1");
    CHECK(submitted.header("X-Correlation-ID") == "abc-123.happy:path_1");
    CHECK(body.at("status") == "queued");
    CHECK(body.at("file_count").is_int64());
    CHECK(body.at("file_count") == 3);
    const json::array cv_details{json::object{{"cv_id", p + "_000"}, {"original_filename", "resume1.pdf"}},
                                 json::object{{"cv_id", p + "_001"}, {"original_filename", "resume2.PDF"}},
                                 json::object{{"cv_id", p + "_002"}, {"original_filename", "resume3.docx"}}};
    CHECK(body.at("cv_details") == cv_details);
    CHECK(body.at("warnings") == J(R"({"skipped_count": 1, "skipped_files": ["notes.txt"],
        "details": [{"filename": "notes.txt", "reason": "Invalid file type '.txt'. Allowed: .pdf, .docx"}]})"));

    // The volume: {volume}/{job_id}/{cv_id}{ext}, the bytes uploaded, nothing else.
    const std::string dir = gw.volume() + "/" + id;
    CHECK(gw.volume_tree() == std::vector<std::string>{".incoming", id, id + "/" + p + "_000.pdf",
                                                       id + "/" + p + "_001.pdf",
                                                       id + "/" + p + "_002.docx"});
    CHECK(read_file(dir + "/" + p + "_000.pdf") == resume1);
    CHECK(read_file(dir + "/" + p + "_001.pdf") == resume2);
    CHECK(read_file(dir + "/" + p + "_002.docx") == docx_bytes());

    // Hot storage: exactly the contract's document, with the contract's BSON types.
    const auto doc = gw.hot(id);
    REQUIRE(doc);
    CHECK(keys_of(*doc) == std::set<std::string>{"_id", "correlation_id", "jd_text", "status",
                                                 "expected_files", "results", "errors", "created_at"});
    CHECK(str(doc->at("_id")) == id);
    CHECK(doc->at("correlation_id") == "abc-123.happy:path_1");
    CHECK(str(doc->at("jd_text")) == job_description());
    CHECK(doc->at("status") == "pending");
    CHECK(doc->at("expected_files") == 3);
    CHECK(doc->at("results") == json::array{});
    CHECK(doc->at("errors") == json::array{});
    const std::string created_at = str(doc->at("created_at"));
    CHECK(matches(created_at, timestamp_regex));
    CHECK(gw.hot_matches({{"_id", id},
                          {"expected_files", json::object{{"$type", "int"}}},
                          {"created_at", json::object{{"$type", "string"}}},
                          {"status", json::object{{"$type", "string"}}}}));

    // The queue: one message, the pipeline's JobIntakeMessage, persistent JSON.
    const auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    const auto& m = messages[0];
    CHECK(m.content_type == "application/json");
    CHECK(m.delivery_mode == 2);
    CHECK(m.correlation_id == "abc-123.happy:path_1");
    CHECK(matches(m.message_id, uuid_v4_regex));
    CHECK(keys_of(m.json) == std::set<std::string>{"job_id", "correlation_id", "jd_text", "use_delay",
                                                   "file_paths", "expected_file_count"});
    CHECK(str(m.json.at("job_id")) == id);
    CHECK(m.json.at("correlation_id") == "abc-123.happy:path_1");
    CHECK(str(m.json.at("jd_text")) == job_description());
    CHECK(m.json.at("use_delay").is_bool());
    CHECK(m.json.at("use_delay") == false);
    CHECK(m.json.at("expected_file_count") == 3);
    const json::array file_paths{json::object{{"cv_id", p + "_000"},
                                              {"file_path", dir + "/" + p + "_000.pdf"},
                                              {"original_filename", "resume1.pdf"}},
                                 json::object{{"cv_id", p + "_001"},
                                              {"file_path", dir + "/" + p + "_001.pdf"},
                                              {"original_filename", "resume2.PDF"}},
                                 json::object{{"cv_id", p + "_002"},
                                              {"file_path", dir + "/" + p + "_002.docx"},
                                              {"original_filename", "resume3.docx"}}};
    CHECK(m.json.at("file_paths") == file_paths);

    // GET status proxies the document unchanged.
    const auto status = gw.get("/jobs/" + id + "/status");
    REQUIRE(status.status == 200);
    CHECK(status.object() == *doc);

    // The results worker's part: results and errors appended, then `complete`.
    const auto first = analysis(p + "_000", "John Doe", 72, "resume1.pdf");
    const auto best = analysis(p + "_001", "Jane Roe", 91.5, "resume2.PDF");
    gw.push_result(id, first);
    gw.push_result(id, best);
    gw.push_error(
        id, {{"cv_id", p + "_002"}, {"filename", "resume3.docx"}, {"error", "Parser could not read it"}});
    gw.set_status(id, "complete");

    // Sync.
    const auto synced = gw.post(sync_path(id));
    REQUIRE(synced.status == 200);
    const auto& s = synced.object();
    CHECK(keys_of(s) == std::set<std::string>{"message", "synced_cvs", "job"});
    CHECK(s.at("message") == "Job synced successfully");
    CHECK(s.at("synced_cvs") == 3);  // every CV newly stored, the failed one included

    // GET results: cold storage, successful CVs only, best first, every field kept.
    const auto results = gw.get("/jobs/" + id + "/results");
    REQUIRE(results.status == 200);
    const auto& r = results.object();
    CHECK(s.at("job") == r);
    CHECK(keys_of(r) == std::set<std::string>{"job_id", "correlation_id", "jd_text", "status", "total_cvs",
                                              "total_successful_cvs", "failed_cvs", "created_at",
                                              "completed_at", "analyses"});
    CHECK(str(r.at("job_id")) == id);
    CHECK(r.at("correlation_id") == "abc-123.happy:path_1");
    CHECK(str(r.at("jd_text")) == job_description());
    CHECK(r.at("status") == "completed");
    CHECK(r.at("total_cvs") == 3);
    CHECK(r.at("total_successful_cvs") == 2);
    CHECK(r.at("failed_cvs") == 1);
    CHECK(str(r.at("created_at")) == created_at);
    CHECK(matches(str(r.at("completed_at")), timestamp_regex));
    const auto& analyses = r.at("analyses").as_array();
    REQUIRE(analyses.size() == 2);
    require_round_trip(analyses[0].as_object(), best);
    require_round_trip(analyses[1].as_object(), first);

    // Cold storage holds each CV once; hot storage no longer has the job.
    CHECK(pg_count("SELECT count(*) FROM cv_analyses WHERE job_id = $1", pg::Params{id}) == 2);
    CHECK(pg_count("SELECT count(*) FROM cv_failures WHERE job_id = $1", pg::Params{id}) == 1);
    CHECK_FALSE(gw.hot(id));
    const auto gone = gw.get("/jobs/" + id + "/status");
    CHECK(gone.status == 404);
    CHECK_THAT(str(gone.object().at("detail")), Catch::Contains("/jobs/" + id + "/results"));

    // A retried sync is not an error: 200 with the same job, nothing stored twice.
    const auto again = gw.post(sync_path(id));
    REQUIRE(again.status == 200);
    CHECK(again.object().at("job") == s.at("job"));
    CHECK(again.object().at("synced_cvs") == 0);
    CHECK(pg_count("SELECT count(*) FROM cv_analyses WHERE job_id = $1", pg::Params{id}) == 2);
}

TEST_CASE(
    "a correlation id that is not 1-128 letters, digits or ._:- is replaced by a new UUID, used everywhere") {
    Gateway gw;
    for (const std::string& given :
         {std::string{"has spaces"}, std::string{"semi;colon"}, std::string(129, 'a')}) {
        INFO("X-Correlation-ID: " << given);
        const auto a = gw.post_form("/jobs/submit", form_with_pdfs(1), "X-Correlation-ID: " + given + "\r\n");
        const std::string id = accepted(a);
        const std::string correlation_id = str(a.object().at("correlation_id"));
        CHECK(matches(correlation_id, uuid_v4_regex));
        CHECK(a.header("X-Correlation-ID") == correlation_id);
        CHECK(str(gw.hot(id)->at("correlation_id")) == correlation_id);
        const auto messages = gw.take_messages();
        REQUIRE(messages.size() == 1);
        CHECK(messages[0].correlation_id == correlation_id);
        CHECK(str(messages[0].json.at("correlation_id")) == correlation_id);
    }
    const std::string longest(128, 'z');
    const auto a = gw.post_form("/jobs/submit", form_with_pdfs(1), "X-Correlation-ID: " + longest + "\r\n");
    accepted(a);
    CHECK(str(a.object().at("correlation_id")) == longest);
}

// ---- add-cvs -------------------------------------------------------------------------

TEST_CASE(
    "add-cvs continues the cv ids, reopens the job and queues only the new files, and after a sync it "
    "resumes the job from cold storage") {
    Gateway gw;
    const std::string id =
        accepted(gw.post_form("/jobs/submit", form_with_pdfs(2), "X-Correlation-ID: job-corr\r\n"));
    const std::string p = prefix_of(id);
    const std::string created_at = str(gw.hot(id)->at("created_at"));
    gw.take_messages();
    gw.push_result(id, analysis(p + "_000", "A", 50, "cv0.pdf"));
    gw.push_result(id, analysis(p + "_001", "B", 60, "cv1.pdf"));
    gw.set_status(id, "complete");

    // Before the sync: the document is reopened.
    Multipart more;
    more.field("jd_text", job_description())
        .file("late.pdf", pdf_bytes("late"), "application/pdf")
        .file("late.txt", "no", "text/plain");
    const auto added = gw.post_form("/jobs/" + id + "/add-cvs", more, "X-Correlation-ID: add-corr\r\n");
    REQUIRE(added.status == 202);
    CHECK(keys_of(added.object()) == std::set<std::string>{"job_id", "correlation_id", "status",
                                                           "files_added", "resumed", "cv_details",
                                                           "warnings"});
    CHECK(str(added.object().at("job_id")) == id);
    // The job's correlation id, the one its messages carry (regression: it was the request's).
    CHECK(added.object().at("correlation_id") == "job-corr");
    CHECK(added.header("X-Correlation-ID") == "add-corr");
    CHECK(added.object().at("status") == "queued");
    CHECK(added.object().at("files_added") == 1);
    CHECK(added.object().at("resumed") == false);
    CHECK(added.object().at("cv_details") ==
          json::array{json::object{{"cv_id", p + "_002"}, {"original_filename", "late.pdf"}}});
    CHECK(added.object().at("warnings").as_object().at("skipped_files") == json::array{"late.txt"});

    auto doc = gw.hot(id);
    REQUIRE(doc);
    CHECK(doc->at("expected_files") == 3);
    CHECK(doc->at("status") == "pending");
    CHECK(doc->at("results").as_array().size() == 2);
    CHECK(fs::exists(gw.volume() + "/" + id + "/" + p + "_002.pdf"));

    auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(str(messages[0].json.at("job_id")) == id);
    CHECK(str(messages[0].json.at("correlation_id")) == "job-corr");
    CHECK(messages[0].correlation_id == "job-corr");
    CHECK(messages[0].json.at("expected_file_count") == 1);
    CHECK(messages[0].json.at("use_delay") == true);
    REQUIRE(messages[0].json.at("file_paths").as_array().size() == 1);
    CHECK(str(messages[0].json.at("file_paths").as_array()[0].as_object().at("cv_id")) == p + "_002");

    // After a sync: the document is gone and add-cvs re-creates it from cold storage.
    gw.push_result(id, analysis(p + "_002", "C", 70, "late.pdf"));
    gw.set_status(id, "complete");
    REQUIRE(gw.post(sync_path(id)).status == 200);
    REQUIRE_FALSE(gw.hot(id));

    Multipart resume;
    resume.field("jd_text", job_description()).file("again.docx", docx_bytes());
    const auto resumed = gw.post_form("/jobs/" + id + "/add-cvs", resume);
    REQUIRE(resumed.status == 202);
    CHECK(resumed.object().at("resumed") == true);
    CHECK(resumed.object().at("files_added") == 1);
    CHECK(resumed.object().at("cv_details") ==
          json::array{json::object{{"cv_id", p + "_003"}, {"original_filename", "again.docx"}}});
    CHECK_FALSE(resumed.object().contains("warnings"));

    doc = gw.hot(id);
    REQUIRE(doc);
    CHECK(keys_of(*doc) == std::set<std::string>{"_id", "correlation_id", "jd_text", "status",
                                                 "expected_files", "results", "errors", "created_at"});
    CHECK(doc->at("correlation_id") == "job-corr");
    CHECK(str(doc->at("jd_text")) == job_description());
    CHECK(doc->at("status") == "pending");
    CHECK(doc->at("expected_files") == 1);
    CHECK(doc->at("results") == json::array{});
    CHECK(str(doc->at("created_at")) == created_at);
    CHECK(fs::exists(gw.volume() + "/" + id + "/" + p + "_003.docx"));

    messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].json.at("expected_file_count") == 1);
    CHECK(str(messages[0].json.at("file_paths").as_array()[0].as_object().at("file_path")) ==
          gw.volume() + "/" + id + "/" + p + "_003.docx");
}

TEST_CASE("add-cvs to a job that is nowhere is 404 and leaves nothing behind") {
    Gateway gw;
    const auto a = gw.post_form("/jobs/6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f/add-cvs", form_with_pdfs(2));
    CHECK(a.status == 404);
    CHECK(a.object().at("detail") == "Job not found");
    gw.require_nothing_left();
}

// ---- erase ---------------------------------------------------------------------------

TEST_CASE(
    "erasing a candidate removes it from cold storage, hot storage and the volume, and updates the totals") {
    Gateway gw;
    const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(2)));
    const std::string p = prefix_of(id);
    gw.push_result(id, analysis(p + "_000", "John Doe", 80, "cv0.pdf"));
    gw.push_result(id, analysis(p + "_001", "Jane Roe", 70, "cv1.pdf"));
    gw.set_status(id, "complete");
    REQUIRE(gw.post(sync_path(id)).status == 200);

    const auto erased = gw.del("/jobs/" + id + "/candidates/" + p + "_000");
    REQUIRE(erased.status == 200);
    CHECK(keys_of(erased.object()) == std::set<std::string>{"message", "candidate_name", "note"});
    CHECK(erased.object().at("candidate_name") == "John Doe");
    CHECK(erased.object().at("note") == "Data permanently deleted for privacy compliance");
    CHECK(pg_count("SELECT count(*) FROM cv_analyses WHERE job_id = $1 AND cv_id = $2",
                   pg::Params{id, p + "_000"}) == 0);
    CHECK_FALSE(fs::exists(gw.volume() + "/" + id + "/" + p + "_000.pdf"));
    CHECK(fs::exists(gw.volume() + "/" + id + "/" + p + "_001.pdf"));

    const auto results = gw.get("/jobs/" + id + "/results");
    REQUIRE(results.status == 200);
    CHECK(results.object().at("total_cvs") == 1);
    CHECK(results.object().at("total_successful_cvs") == 1);
    CHECK(results.object().at("failed_cvs") == 0);
    REQUIRE(results.object().at("analyses").as_array().size() == 1);
    CHECK(str(results.object().at("analyses").as_array()[0].as_object().at("cv_id")) == p + "_001");

    const auto twice = gw.del("/jobs/" + id + "/candidates/" + p + "_000");
    CHECK(twice.status == 404);
    CHECK(twice.object().at("detail").is_string());

    // A candidate still in hot storage (not synced yet) is pulled from the document.
    const std::string hot_id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
    const std::string hp = prefix_of(hot_id);
    gw.push_result(hot_id, analysis(hp + "_000", "Max Mustermann", 65, "cv0.pdf"));
    const auto from_hot = gw.del("/jobs/" + hot_id + "/candidates/" + hp + "_000");
    REQUIRE(from_hot.status == 200);
    CHECK(from_hot.object().at("candidate_name") == "Max Mustermann");
    CHECK(gw.hot(hot_id)->at("results") == json::array{});
    CHECK_FALSE(fs::exists(gw.volume() + "/" + hot_id + "/" + hp + "_000.pdf"));
    CHECK(gw.del("/jobs/" + hot_id + "/candidates/" + hp + "_000").status == 404);

    // A cv id of another job is malformed for this one.
    CHECK(gw.del("/jobs/" + hot_id + "/candidates/" + p + "_001").status == 400);
}

// ---- Outages: rollback with the dependency really stopped ----------------------------

namespace {

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

// ---- Sync ----------------------------------------------------------------------------

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

// ---- Hostile input -------------------------------------------------------------------

TEST_CASE(
    "a client's file name never becomes a path: ../, backslashes and NUL bytes are reduced to a harmless "
    "original_filename") {
    Gateway gw;
    Multipart form;
    form.field("jd_text", job_description())
        .file("../../etc/passwd.pdf", pdf_bytes("a"))
        .file("..\\..\\windows\\boot.pdf", pdf_bytes("b"))
        .file(std::string{"nul\0byte.pdf", 12}, pdf_bytes("c"))
        .file_with_disposition("filename*=UTF-8''..%2F..%2Ftmp%2Fcv%00evil.pdf", pdf_bytes("d"));
    const auto a = gw.post_form("/jobs/submit", form);
    const std::string id = accepted(a);
    const std::string p = prefix_of(id);
    CHECK(a.object().at("cv_details") ==
          json::array{json::object{{"cv_id", p + "_000"}, {"original_filename", "passwd.pdf"}},
                      json::object{{"cv_id", p + "_001"}, {"original_filename", "boot.pdf"}},
                      json::object{{"cv_id", p + "_002"}, {"original_filename", "nulbyte.pdf"}},
                      json::object{{"cv_id", p + "_003"}, {"original_filename", "cvevil.pdf"}}});
    CHECK(gw.volume_tree() == std::vector<std::string>{".incoming", id, id + "/" + p + "_000.pdf",
                                                       id + "/" + p + "_001.pdf", id + "/" + p + "_002.pdf",
                                                       id + "/" + p + "_003.pdf"});
    // Nothing outside the volume: the test directory holds the volume and nothing else.
    std::vector<std::string> outside;
    for (const auto& entry : fs::directory_iterator{gw.dir()})
        outside.push_back(entry.path().filename().string());
    CHECK(outside == std::vector<std::string>{"volume"});
    const auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    for (const auto& f : messages[0].json.at("file_paths").as_array())
        CHECK(str(f.as_object().at("file_path")).rfind(gw.volume() + "/" + id + "/" + p + "_", 0) == 0);
}

TEST_CASE(
    "a PDF named with 94 Japanese characters is accepted under a name cut in its stem, and a ZIP that holds "
    "word/document.xml only inside a file's data is skipped") {
    // Issue 9: the long name was cut before its extension was read ("Invalid file type
    // '(none)'"); the ZIP passed as a DOCX because the bytes were somewhere in it.
    std::string japanese;
    for (int i = 0; i < 94; ++i) japanese += "\xe5\xb1\xa5";  // 履
    // A real ZIP (python3's zipfile) with one stored entry, notes.txt, whose data is a local
    // header named word/document.xml.
    const std::string path = "/tmp/cvgate-api-test-fake-" + std::to_string(::getpid()) + ".docx";
    shell("python3 - '" + path + R"(' <<'EOF'
import struct, sys, zipfile
fake = struct.pack('<4sHHHHHIIIHH', b'PK\x03\x04', 20, 0, 0, 0, 0, 0, 0, 0, 17, 0) + b'word/document.xml'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('notes.txt', fake)
EOF)");
    const std::string fake_docx = read_file(path);
    fs::remove(path);
    REQUIRE(fake_docx.find("word/document.xml") != std::string::npos);

    Gateway gw;
    Multipart form;
    form.field("jd_text", job_description())
        .file(japanese + ".pdf", pdf_bytes("long"))
        .file("fake.docx", fake_docx)
        .file("real.docx", docx_bytes());
    const auto a = gw.post_form("/jobs/submit", form);
    const std::string id = accepted(a);
    const std::string p = prefix_of(id);
    CHECK(a.object().at("cv_details") ==
          json::array{
              json::object{{"cv_id", p + "_000"}, {"original_filename", japanese.substr(0, 249) + ".pdf"}},
              json::object{{"cv_id", p + "_001"}, {"original_filename", "real.docx"}}});
    CHECK(a.object().at("warnings").at("details") ==
          json::array{
              json::object{{"filename", "fake.docx"},
                           {"reason", "File content is not a valid DOCX document (no word/document.xml)"}}});
    CHECK(gw.volume_tree() ==
          std::vector<std::string>{".incoming", id, id + "/" + p + "_000.pdf", id + "/" + p + "_001.docx"});
}

TEST_CASE(
    "files that are not what they claim, or empty, are skipped, and when all are, 400 with the detail object "
    "and nothing is left") {
    Gateway gw;
    Multipart form;
    form.field("jd_text", job_description())
        .file("fake.pdf", "<html>not a pdf</html>", "application/pdf")
        .file("empty.pdf", "", "application/pdf")
        .file("zip.docx", "PK\x03\x04 a zip without the document", "application/octet-stream")
        .file("notes.txt", "text");
    const auto a = gw.post_form("/jobs/submit", form);
    CHECK(a.status == 400);
    const auto& detail = a.object().at("detail").as_object();
    CHECK(keys_of(detail) ==
          std::set<std::string>{"message", "skipped_files", "details", "total_uploaded", "valid_files"});
    CHECK(detail.at("message") == "All files were invalid or failed validation");
    CHECK(detail.at("skipped_files") == J(R"(["fake.pdf", "empty.pdf", "zip.docx", "notes.txt"])"));
    CHECK(detail.at("total_uploaded") == 4);
    CHECK(detail.at("valid_files") == 0);
    const auto& details = detail.at("details").as_array();
    REQUIRE(details.size() == 4);
    for (const auto& d : details) {
        CHECK(keys_of(d.as_object()) == std::set<std::string>{"filename", "reason"});
        CHECK_FALSE(str(d.as_object().at("reason")).empty());
    }
    gw.require_nothing_left();
}

TEST_CASE(
    "a file over MAX_FILE_SIZE among good ones is skipped and reported while the good ones go through") {
    Gateway gw{[](cvgate::app::Config& c) { c.max_file_size = 4096; }};
    Multipart form;
    form.field("jd_text", job_description())
        .file("small1.pdf", pdf_bytes("one"))
        .file("huge.pdf", pdf_bytes(std::string(64 * 1024, 'x')))
        .file("small2.pdf", pdf_bytes("two"));
    const auto a = gw.post_form("/jobs/submit", form);
    const std::string id = accepted(a);
    const std::string p = prefix_of(id);
    CHECK(a.object().at("file_count") == 2);
    CHECK(a.object().at("warnings").as_object().at("skipped_files") == json::array{"huge.pdf"});
    CHECK(a.object().at("cv_details") ==
          json::array{json::object{{"cv_id", p + "_000"}, {"original_filename", "small1.pdf"}},
                      json::object{{"cv_id", p + "_001"}, {"original_filename", "small2.pdf"}}});
    CHECK(eventually([&] { return gw.volume_tree().size() == 4; }));
    CHECK(gw.volume_tree() ==
          std::vector<std::string>{".incoming", id, id + "/" + p + "_000.pdf", id + "/" + p + "_001.pdf"});
    const auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].json.at("expected_file_count") == 2);
}

TEST_CASE("1000 tiny parts are over the file cap (or the part cap): 413 and nothing left") {
    Gateway gw;
    Multipart files;
    files.field("jd_text", job_description());
    for (int i = 0; i < 1000; ++i) files.file("c" + std::to_string(i) + ".pdf", "%PDF-1");
    const auto a = gw.post_form("/jobs/submit", files);
    CHECK(a.status == 413);
    CHECK(a.object().at("detail").is_string());
    gw.require_nothing_left();

    Multipart fields;
    fields.field("jd_text", job_description()).file("one.pdf", pdf_bytes("one"));
    for (int i = 0; i < 1000; ++i) fields.field("f" + std::to_string(i), "x");
    const auto b = gw.post_form("/jobs/submit", fields);
    CHECK(b.status == 413);
    CHECK(b.object().at("detail").is_string());
    gw.require_nothing_left();
}

TEST_CASE("jd_text missing, too short or not UTF-8 is 422 and leaves nothing behind") {
    Gateway gw;
    Multipart missing;
    missing.file("a.pdf", pdf_bytes("a"));
    Multipart short_jd;
    short_jd.field("jd_text", "   too short   ").file("a.pdf", pdf_bytes("a"));
    Multipart not_utf8;
    not_utf8.field("jd_text", job_description() + "\xff\xfe\xc0\xaf").file("a.pdf", pdf_bytes("a"));
    for (const auto* form : {&missing, &short_jd, &not_utf8}) {
        const auto a = gw.post_form("/jobs/submit", *form);
        CHECK(a.status == 422);
        CHECK(a.object().at("detail").is_string());
    }
    gw.require_nothing_left();
}

TEST_CASE("use_delay: missing means true, any boolean spelling is read, \"maybe\" is 422") {
    Gateway gw;
    const auto with_delay = [&](std::optional<std::string> value) {
        Multipart form;
        form.field("jd_text", job_description());
        if (value) form.field("use_delay", *value);
        form.file("a.pdf", pdf_bytes("a"));
        return gw.post_form("/jobs/submit", form);
    };
    accepted(with_delay(std::nullopt));
    accepted(with_delay("No"));
    accepted(with_delay("ON"));
    auto messages = gw.take_messages();
    REQUIRE(messages.size() == 3);
    CHECK(messages[0].json.at("use_delay") == true);
    CHECK(messages[1].json.at("use_delay") == false);
    CHECK(messages[2].json.at("use_delay") == true);

    const auto bad = with_delay("maybe");
    CHECK(bad.status == 422);
    CHECK(bad.object().at("detail").is_string());
    CHECK(gw.hot_count() == 3);
    CHECK(gw.take_messages().empty());
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

TEST_CASE("no files is 400, not multipart is 415, and neither leaves anything behind") {
    Gateway gw;
    Multipart no_files;
    no_files.field("jd_text", job_description());
    const auto a = gw.post_form("/jobs/submit", no_files);
    CHECK(a.status == 400);
    CHECK(a.object().at("detail").is_string());

    const auto b = send_request(gw.port(), "POST", "/jobs/submit", "Content-Type: application/json\r\n",
                                R"({"jd_text": "x", "files": []})");
    CHECK(b.status == 415);
    CHECK(b.object().at("detail").is_string());
    const auto c = send_request(gw.port(), "POST", "/jobs/submit",
                                "Content-Type: application/x-www-form-urlencoded\r\n", "jd_text=x");
    CHECK(c.status == 415);
    gw.require_nothing_left();
}

TEST_CASE("a body over MAX_BODY_SIZE is 413, with Content-Length or chunked, and leaves nothing behind") {
    Gateway gw{[](cvgate::app::Config& c) { c.max_body_size = 256 * 1024; }};
    Multipart big;
    big.field("jd_text", job_description())
        .file("a.pdf", pdf_bytes("a"))
        .file("b.pdf", pdf_bytes(std::string(400 * 1024, 'b')));

    const auto declared = gw.post_form("/jobs/submit", big);
    CHECK(declared.status == 413);
    CHECK(declared.object().at("detail").is_string());
    gw.require_nothing_left();

    // Chunked: the limit is found while the parts stream in; what was staged is dropped.
    const std::string body = big.body();
    std::string chunked;
    for (std::size_t at = 0; at < body.size(); at += 16 * 1024) {
        const std::string piece = body.substr(at, 16 * 1024);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        chunked += size + piece + "\r\n";
    }
    chunked += "0\r\n\r\n";
    const auto streamed = send_request(
        gw.port(), "POST", "/jobs/submit",
        "Content-Type: " + Multipart::content_type() + "\r\nTransfer-Encoding: chunked\r\n", chunked);
    CHECK(streamed.status == 413);
    CHECK(streamed.object().at("detail").is_string());
    gw.require_nothing_left();
}

TEST_CASE(
    "with API_KEYS set, a request without a valid key is 401 and leaves nothing, while Bearer or X-API-Key "
    "is let in") {
    Gateway gw{[](cvgate::app::Config& c) { c.api_keys = {"k", "second-key"}; }};
    for (const std::string headers : {"", "X-API-Key: nope\r\n", "Authorization: Bearer nope\r\n",
                                      "Authorization: Bearer kk\r\n", "Authorization: Basic k\r\n"}) {
        INFO("headers: " << headers);
        const auto a = gw.post_form("/jobs/submit", form_with_pdfs(1), headers);
        CHECK(a.status == 401);
        CHECK(a.object().at("detail").is_string());
    }
    CHECK(gw.get("/jobs/6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f/status").status == 401);
    gw.require_nothing_left();

    accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), "Authorization: Bearer k\r\n"));
    accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), "X-API-Key: k\r\n"));
    accepted(gw.post_form("/jobs/submit", form_with_pdfs(1), "X-API-Key: second-key\r\n"));
    CHECK(gw.take_messages().size() == 3);
}

TEST_CASE(
    "with CORS_ORIGINS set, preflights are answered and responses to an allowed origin carry CORS headers") {
    Gateway gw{[](cvgate::app::Config& c) {
        c.cors_origins = {"https://app.example"};
        c.api_keys = {"k"};
    }};
    const std::string allowed = "Origin: https://app.example\r\n";

    // A preflight needs no key.
    const auto pre = send_request(gw.port(), "OPTIONS", "/jobs/submit",
                                  allowed +
                                      "Access-Control-Request-Method: POST\r\n"
                                      "Access-Control-Request-Headers: X-API-Key, X-Correlation-ID\r\n");
    CHECK(pre.status == 204);
    CHECK(pre.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK_THAT(pre.header("Access-Control-Allow-Methods"), Catch::Contains("POST"));
    CHECK_THAT(pre.header("Access-Control-Allow-Headers"), Catch::Contains("X-API-Key"));
    // A browser's retry of an upload sends its Idempotency-Key: the preflight must allow it.
    CHECK_THAT(pre.header("Access-Control-Allow-Headers"), Catch::Contains("Idempotency-Key"));
    CHECK_FALSE(pre.header("Access-Control-Max-Age").empty());

    const auto foreign =
        send_request(gw.port(), "OPTIONS", "/jobs/submit",
                     "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n");
    CHECK(foreign.header("Access-Control-Allow-Origin").empty());
    CHECK(foreign.header("Access-Control-Allow-Methods").empty());

    // Answers, errors included, carry the headers a browser needs to read them.
    const std::string target = "/jobs/6f1c1d5e-2b7a-4c3d-9e8f-0a1b2c3d4e5f/status";
    const auto denied = gw.get(target, allowed);
    CHECK(denied.status == 401);
    CHECK(denied.header("Access-Control-Allow-Origin") == "https://app.example");
    const auto answered = gw.get(target, allowed + "X-API-Key: k\r\n");
    CHECK(answered.status == 404);
    CHECK(answered.header("Access-Control-Allow-Origin") == "https://app.example");
    CHECK_THAT(answered.header("Vary"), Catch::Contains("Origin"));
    CHECK_THAT(answered.header("Access-Control-Expose-Headers"), Catch::Contains("X-Correlation-ID"));
    CHECK(gw.get(target, "Origin: https://evil.example\r\nX-API-Key: k\r\n")
              .header("Access-Control-Allow-Origin")
              .empty());
}

// ---- Readiness -----------------------------------------------------------------------

TEST_CASE("GET /readyz is 200 with MongoDB, PostgreSQL, RabbitMQ and the volume all ok") {
    Gateway gw;
    const auto a = gw.get("/readyz");
    REQUIRE(a.status == 200);
    CHECK(a.object().at("status") == "ready");
    const auto& checks = a.object().at("checks").as_object();
    CHECK(keys_of(checks) == std::set<std::string>{"mongodb", "postgresql", "rabbitmq", "volume"});
    for (const auto& kv : checks) {
        INFO(kv.key());
        CHECK(kv.value().as_object().at("status") == "ok");
        CHECK(kv.value().as_object().at("latency_ms").is_number());
    }
    // Issue 9: latencies read 3.194668E0; now like 3.19 (or 0.412 below 1 ms).
    CHECK(matches(a.raw.body(), R"(.*"latency_ms":-?[0-9]+\.[0-9]{1,3}[,}].*)"));
    CHECK_THAT(a.raw.body(), !Catch::Contains("E0") && !Catch::Contains("e-"));
}

// ---- W3C Trace Context ---------------------------------------------------------------

TEST_CASE("a job message carries the request's trace in its headers, its body and properties as before",
          "[trace]") {
    Gateway gw;
    const std::string caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const std::string caller_span = "00f067aa0ba902b7";
    const std::set<std::string> properties{"content_type", "delivery_mode", "correlation_id", "message_id",
                                           "headers"};
    // The pipeline's JobIntakeMessage, byte for byte as cvgate wrote it before traces existed.
    auto expected_body = [&](const std::string& id, const std::string& correlation_id, std::string_view file,
                             int index) {
        const std::string cv_id = prefix_of(id) + "_00" + std::to_string(index);
        return json::serialize(json::object{
            {"job_id", id},
            {"correlation_id", correlation_id},
            {"jd_text", job_description()},
            {"use_delay", false},
            {"file_paths",
             json::array{json::object{{"cv_id", cv_id},
                                      {"file_path", gw.volume() + "/" + id + "/" + cv_id + ".pdf"},
                                      {"original_filename", file}}}},
            {"expected_file_count", 1}});
    };

    // Submit, with the caller's trace and tracestate.
    Multipart form;
    form.field("jd_text", job_description()).field("use_delay", "false").file("a.pdf", pdf_bytes("traced"));
    const auto submitted = gw.post_form("/jobs/submit", form,
                                        "X-Correlation-ID: traced-1\r\ntraceparent: 00-" + caller_trace +
                                            "-" + caller_span + "-01\r\ntracestate: vendor=a,other=b\r\n");
    const std::string id = accepted(submitted);
    const std::string answered = submitted.header("traceparent");
    REQUIRE(matches(answered, "^00-" + caller_trace + "-[0-9a-f]{16}-01$"));
    CHECK(answered.substr(36, 16) != caller_span);  // cvgate's span, the parser's spans' parent

    auto messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    const auto& m = messages[0];
    CHECK(m.header("traceparent") == answered);
    CHECK(m.header("tracestate") == "vendor=a,other=b");
    CHECK(m.headers.size() == 2);
    CHECK(m.properties == properties);
    CHECK(m.content_type == "application/json");
    CHECK(m.delivery_mode == 2);
    CHECK(m.correlation_id == "traced-1");
    CHECK(matches(m.message_id, uuid_v4_regex));
    CHECK(m.body == expected_body(id, "traced-1", "a.pdf", 0));

    // add-cvs: the add-cvs request's own span; no tracestate came, none goes.
    Multipart more;
    more.field("jd_text", job_description()).field("use_delay", "false").file("b.pdf", pdf_bytes("more"));
    const auto added = gw.post_form("/jobs/" + id + "/add-cvs", more,
                                    "traceparent: 00-" + caller_trace + "-" + caller_span + "-00\r\n");
    REQUIRE(added.status == 202);
    const std::string added_trace = added.header("traceparent");
    REQUIRE(matches(added_trace, "^00-" + caller_trace + "-[0-9a-f]{16}-00$"));
    CHECK(added_trace != answered);
    messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].headers ==
          std::vector<std::pair<std::string, std::string>>{{"traceparent", added_trace}});
    CHECK(messages[0].properties == properties);
    CHECK(messages[0].correlation_id == "traced-1");  // the job's, as before
    CHECK(messages[0].body == expected_body(id, "traced-1", "b.pdf", 1));

    // No traceparent (or an invalid one): the trace starts at cvgate, and the message joins it.
    const auto fresh = gw.post_form("/jobs/submit", form_with_pdfs(1), "traceparent: 00-bad\r\n");
    accepted(fresh);
    const std::string fresh_trace = fresh.header("traceparent");
    REQUIRE(matches(fresh_trace, "^00-[0-9a-f]{32}-[0-9a-f]{16}-01$"));
    CHECK(fresh_trace.substr(3, 32) != caller_trace);
    messages = gw.take_messages();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].headers ==
          std::vector<std::pair<std::string, std::string>>{{"traceparent", fresh_trace}});
}
