// DELETE /jobs/{job_id}/candidates/{cv_id} end to end: a candidate erased from cold storage, hot
// storage and the volume (GDPR).

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace pg = cvgate::clients::postgres;
using namespace cvgate::test;

}  // namespace

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
