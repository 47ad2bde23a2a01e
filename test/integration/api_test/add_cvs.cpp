// POST /jobs/{job_id}/add-cvs end to end: more CVs for a job in hot storage or, after a sync,
// resumed from cold storage.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace cvgate::test;

}  // namespace

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
