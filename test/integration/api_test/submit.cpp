// POST /jobs/submit against hostile or broken input, end to end: client file names that never
// become paths, files that are not what they claim, every limit (file size, parts, body size,
// jd_text, use_delay), and nothing left behind when a request is refused.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace cvgate::test;

}  // namespace

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
    Gateway gw{[](cvgate::app::Config& c) { c.upload_limits.max_file_size = 4096; }};
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
    Gateway gw{[](cvgate::app::Config& c) { c.server.limits.max_body_size = 256 * 1024; }};
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
