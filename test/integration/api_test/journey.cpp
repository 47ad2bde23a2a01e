// The whole journey of a job, end to end over HTTP against the real servers of the `stack`
// fixture: submit, status, the pipeline's part, sync and results, each proved on the volume,
// in MongoDB, on the queue and in PostgreSQL read directly; and what names a request along the
// way (its correlation id, its W3C trace).

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
namespace pg = cvgate::clients::postgres;
using namespace cvgate::test;

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
