// jobs/cv_file: which uploads pass as a PDF or a DOCX, decided while they stream.

#include <cvgate/jobs/cv_file.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobs = cvgate::jobs;

namespace {

std::string fixture(std::string_view name) {
    const std::string path = std::string{CVGATE_UNIT_DATA_DIR} + "/docx/" + std::string{name};
    std::ifstream in{path, std::ios::binary};
    REQUIRE(in);
    return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

struct Verdict {
    std::optional<jobs::CvType> type;
    std::string reason;
    bool operator==(const Verdict&) const = default;
};

Verdict check(std::string_view filename, const std::vector<std::string_view>& chunks) {
    jobs::CvFileCheck c{filename, 10u << 20};
    for (auto chunk : chunks) c.feed(chunk);
    auto type = c.finish();
    return {type, c.reason()};
}

// The verdict on `bytes` fed whole; fails the test unless every cut into two chunks, every
// cut into three around the middle, and one byte at a time give the very same verdict.
Verdict verdict_however_cut(std::string_view filename, std::string_view bytes) {
    const Verdict whole = check(filename, {bytes});
    for (std::size_t at = 0; at <= bytes.size(); ++at) {
        INFO("split at " << at);
        REQUIRE(check(filename, {bytes.substr(0, at), bytes.substr(at)}) == whole);
    }
    const std::size_t mid = bytes.size() / 2;
    for (std::size_t at = 0; at <= mid; ++at) {
        INFO("three chunks cut at " << at << " and " << mid);
        REQUIRE(check(filename, {bytes.substr(0, at), bytes.substr(at, mid - at), bytes.substr(mid)}) ==
                whole);
    }
    std::vector<std::string_view> bytewise;
    for (std::size_t i = 0; i < bytes.size(); ++i) bytewise.push_back(bytes.substr(i, 1));
    REQUIRE(check(filename, bytewise) == whole);
    return whole;
}

const std::string no_document_xml = "File content is not a valid DOCX document (no word/document.xml)";

}  // namespace

TEST_CASE("real DOCX layouts pass however the upload is cut into chunks", "[cv_file]") {
    for (const char* name : {"stored.docx", "deflated.docx", "data_descriptor.docx", "zip64.docx",
                             "large_extra.docx", "central_only.docx"}) {
        INFO(name);
        const Verdict v = verdict_however_cut("cv.docx", fixture(name));
        CHECK(v.reason == "");
        CHECK(v.type == jobs::CvType::docx);
    }
}

TEST_CASE("a ZIP that holds the bytes word/document.xml anywhere but in an entry's name is not a DOCX",
          "[cv_file]") {
    // Before the ZIP structure was walked, each of these passed: the marker bytes were
    // searched anywhere in the upload.
    for (const char* name : {"name_in_data.docx", "name_in_extra.docx", "name_in_comment.docx",
                             "name_in_data_descriptor_entry.docx", "truncated_header.docx",
                             "similar_name.docx", "garbage_after_magic.docx"}) {
        INFO(name);
        const Verdict v = verdict_however_cut("cv.docx", fixture(name));
        CHECK(v.type == std::nullopt);
        CHECK(v.reason == no_document_xml);
    }
}

TEST_CASE("a DOCX cut short, or compressed in a way Word cannot read, is not a DOCX", "[cv_file]") {
    CHECK(verdict_however_cut("cv.docx", fixture("truncated_fixed_part.docx")).reason == no_document_xml);
    CHECK(verdict_however_cut("cv.docx", fixture("bzip2_method.docx")).reason == no_document_xml);
    const std::string whole = fixture("stored.docx");
    // The name in word/document.xml's local header (17 bytes, no extra field), not the one
    // [Content_Types].xml's data quotes.
    const auto header_tail = whole.find(std::string{"\x11\x00\x00\x00", 4} + "word/document.xml");
    REQUIRE(header_tail != std::string::npos);
    const auto name_at = header_tail + 4;
    // Every cut of the archive inside word/document.xml's local header, name included.
    for (std::size_t end = name_at - 30; end < name_at + 17; ++end) {
        INFO("cut at " << end);
        CHECK(check("cv.docx", {std::string_view{whole}.substr(0, end)}).reason == no_document_xml);
    }
    CHECK(check("cv.docx", {std::string_view{whole}.substr(0, name_at + 17)}).type == jobs::CvType::docx);
}

TEST_CASE("the DOCX rule does not change what a PDF or the size limit decide", "[cv_file]") {
    CHECK(verdict_however_cut("cv.pdf", fixture("stored.docx")).reason ==
          "File content is not a valid PDF document");
    CHECK(verdict_however_cut("cv.docx", "%PDF-1.7").reason == "File content is not a valid DOCX document");
    jobs::CvFileCheck small{"cv.docx", 64};
    small.feed(fixture("stored.docx"));
    CHECK_FALSE(small.finish());
    CHECK(small.reason() == "File exceeds the maximum size of 64 bytes");
}

TEST_CASE("a name over 255 bytes loses the end of its stem, never its extension", "[cv_file]") {
    // Found in issue 9: a valid PDF named with 94 Japanese characters was cut to 255 bytes before
    // its extension was read, and skipped as "Invalid file type '(none)'".
    std::string stem;
    for (int i = 0; i < 94; ++i) stem += "\xe5\xb1\xa5";  // 履, 3 bytes
    const std::string cleaned = jobs::clean_filename("C:\\cvs\\" + stem + ".pdf");
    CHECK(cleaned.size() == 253);  // 83 whole characters (249 bytes) and ".pdf"
    CHECK(cleaned == stem.substr(0, 249) + ".pdf");
    CHECK(jobs::clean_filename(cleaned) == cleaned);

    jobs::CvFileCheck pdf{cleaned, 1024};
    pdf.feed("%PDF-1.7\n");
    CHECK(pdf.finish() == jobs::CvType::pdf);
    CHECK(pdf.reason() == "");

    // A stem of 4-byte characters is cut between them, whatever is left over.
    std::string emoji;
    for (int i = 0; i < 70; ++i) emoji += "\xf0\x9f\x98\x80";
    CHECK(jobs::clean_filename(emoji + ".DOCX") == emoji.substr(0, 248) + ".DOCX");
    // A name of exactly 255 bytes is kept whole; one more byte and the stem gives way.
    CHECK(jobs::clean_filename(std::string(251, 'a') + ".pdf") == std::string(251, 'a') + ".pdf");
    CHECK(jobs::clean_filename(std::string(252, 'a') + ".pdf") == std::string(251, 'a') + ".pdf");
    // What is dropped is dropped before the length is measured.
    CHECK(jobs::clean_filename(std::string(20, '\x01') + std::string(251, 'a') + ".pdf") ==
          std::string(251, 'a') + ".pdf");
    // Something after the last dot that is too long to be an extension is cut like the rest.
    CHECK(jobs::clean_filename("cv." + std::string(300, 'x')) == "cv." + std::string(252, 'x'));
    // No dot, or a dot only at the start: no extension to keep.
    CHECK(jobs::clean_filename(std::string(300, 'n')) == std::string(255, 'n'));
    CHECK(jobs::clean_filename("." + std::string(300, 'h')) == "." + std::string(254, 'h'));
}
