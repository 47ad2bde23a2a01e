#include "cvgate/http/multipart.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace mp = cvgate::http::multipart;
using mp::Error;
using Event = mp::Parser::Event;
using namespace std::string_literals;

struct Part {
    std::string name;
    std::optional<std::string> filename;
    std::string content_type;
    std::string data;
    bool complete = false;
    bool operator==(const Part&) const = default;
};

// Everything a caller can observe about one parse, including any broken promise about
// the order of events, so that two parses compare equal only if they behaved alike.
struct Outcome {
    std::vector<Part> parts;
    Error error = Error::none;
    bool done = false;
    std::size_t parts_seen = 0;
    std::string broken;  // the first violated event-order promise, if any
    bool operator==(const Outcome&) const = default;
};

std::string printable(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u >= 0x7f) {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 0xf];
        } else {
            out += c;
        }
    }
    return out;
}

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    os << "{error=" << static_cast<int>(o.error) << " done=" << o.done << " parts_seen=" << o.parts_seen;
    if (!o.broken.empty()) os << " BROKEN: " << o.broken;
    for (const Part& p : o.parts) {
        os << "\n  part name=\"" << printable(p.name)
           << "\" filename=" << (p.filename ? "\"" + printable(*p.filename) + "\"" : "none") << " type=\""
           << printable(p.content_type) << "\" complete=" << p.complete << " data=\"" << printable(p.data)
           << "\"";
    }
    return os << "}";
}

// Feeds the chunks in order, each copied into an allocation of its own that is freed
// as soon as the parser asks for the next one, so that the sanitizers catch any read
// past a chunk or any view kept into a consumed one.
Outcome parse_chunks(const std::vector<std::string_view>& chunks, std::string_view boundary,
                     mp::Limits limits = {}) {
    mp::Parser parser{std::string(boundary), limits};
    Outcome out;
    std::size_t next_chunk = 0;
    std::unique_ptr<char[]> chunk;
    bool finished = false;
    const auto broken = [&](std::string what) {
        if (out.broken.empty()) out.broken = std::move(what);
    };
    for (int guard = 0; guard < 10'000'000; ++guard) {
        switch (parser.next()) {
            case Event::need_more:
                if (finished) {
                    broken("need_more after finish()");
                    return out;
                }
                if (next_chunk == chunks.size()) {
                    chunk.reset();
                    parser.finish();
                    finished = true;
                } else {
                    const std::string_view c = chunks[next_chunk++];
                    chunk = std::make_unique<char[]>(c.size() + 1);
                    std::copy(c.begin(), c.end(), chunk.get());
                    // The +1 keeps make_unique from handing back a null pointer for an empty
                    // chunk while the view still ends at c.size().
                    parser.feed(std::string_view(chunk.get(), c.size()));
                }
                break;
            case Event::part_begin: {
                if (!out.parts.empty() && !out.parts.back().complete) broken("part_begin inside a part");
                const mp::PartHeaders& h = parser.headers();
                out.parts.push_back(Part{h.name, h.filename, h.content_type, {}, false});
                if (h.is_file() != h.filename.has_value()) broken("is_file() disagrees with filename");
                break;
            }
            case Event::part_data:
                if (out.parts.empty() || out.parts.back().complete) broken("part_data outside a part");
                if (parser.data().empty()) broken("empty part_data");
                if (!out.parts.empty()) out.parts.back().data += parser.data();
                break;
            case Event::part_end:
                if (out.parts.empty() || out.parts.back().complete) broken("part_end outside a part");
                if (!out.parts.empty()) out.parts.back().complete = true;
                break;
            case Event::done:
                out.done = true;
                out.parts_seen = parser.parts_seen();
                if (!out.parts.empty() && !out.parts.back().complete) broken("done inside a part");
                if (parser.error() != Error::none) broken("done with an error set");
                parser.feed("--B\r\nmore epilogue");
                if (parser.next() != Event::done) broken("done is not sticky");
                return out;
            case Event::error:
                out.error = parser.error();
                out.parts_seen = parser.parts_seen();
                if (out.error == Error::none) broken("error event with Error::none");
                if (parser.next() != Event::error) broken("error is not sticky");
                return out;
        }
    }
    broken("no end after ten million events");
    return out;
}

Outcome parse_whole(std::string_view body, std::string_view boundary = "B", mp::Limits limits = {}) {
    return parse_chunks({body}, boundary, limits);
}

// Parses the body in one piece, cut in two at every offset (empty halves included),
// and one byte at a time; all must agree. Returns the one-piece outcome.
Outcome parse_every_way(std::string_view body, std::string_view boundary = "B", mp::Limits limits = {}) {
    const Outcome whole = parse_whole(body, boundary, limits);
    INFO("body: \"" << printable(body) << "\"");
    REQUIRE(whole.broken.empty());
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
        const Outcome split = parse_chunks({body.substr(0, cut), body.substr(cut)}, boundary, limits);
        if (!(split == whole)) {
            INFO("cut at " << cut);
            REQUIRE(split == whole);
        }
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < body.size(); ++i) bytes.push_back(body.substr(i, 1));
    const Outcome bytewise = parse_chunks(bytes, boundary, limits);
    if (!(bytewise == whole)) {
        INFO("one byte at a time");
        REQUIRE(bytewise == whole);
    }
    return whole;
}

Part field(std::string name, std::string data) {
    return Part{std::move(name), std::nullopt, "", std::move(data), true};
}

Part file(std::string name, std::string filename, std::string type, std::string data) {
    return Part{std::move(name), std::move(filename), std::move(type), std::move(data), true};
}

std::string one_field_body(std::string_view disposition_value) {
    return "--B\r\nContent-Disposition: "s + std::string(disposition_value) + "\r\n\r\nx\r\n--B--\r\n";
}

}  // namespace

TEST_CASE("a form with a text field and two files yields three parts with their headers and bytes") {
    const std::string body =
        "--XyZ123\r\n"
        "Content-Disposition: form-data; name=\"jd_text\"\r\n"
        "\r\n"
        "We need a C++ engineer.\r\nMultiple lines.\r\n"
        "--XyZ123\r\n"
        "Content-Disposition: form-data; name=\"files\"; filename=\"alice.pdf\"\r\n"
        "Content-Type: application/pdf\r\n"
        "\r\n"
        "%PDF-1.7 alice\r\n"
        "--XyZ123\r\n"
        "Content-Disposition: form-data; name=\"files\"; filename=\"bob.docx\"\r\n"
        "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n"
        "\r\n"
        "PK\x03\x04 bob\r\n"
        "--XyZ123--\r\n";
    const Outcome o = parse_every_way(body, "XyZ123");
    CHECK(o.done);
    CHECK(o.error == Error::none);
    CHECK(o.parts_seen == 3);
    CHECK(o.parts == std::vector<Part>{
                         field("jd_text", "We need a C++ engineer.\r\nMultiple lines."),
                         file("files", "alice.pdf", "application/pdf", "%PDF-1.7 alice"),
                         file("files", "bob.docx",
                              "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                              "PK\x03\x04 bob"),
                     });
}

TEST_CASE("content that only partly looks like a delimiter is content") {
    const std::string boundary = "boundary";
    const std::string data = GENERATE(as<std::string>{},
                                      "\r\n--boun",                     // delimiter cut short
                                      "abc\r\n--boun\r\ndef",           // ... mid-content
                                      "ends in CR\r",                   // CR right before the delimiter
                                      "ends in CRLF dash\r\n-",         // partial prefix, then delimiter
                                      "\r\n\r\n\r\n",                   // CRLFs before the delimiter
                                      "\r\r\n-\r\n--\r\n--b\r\n--bou",  // prefixes overlapping
                                      "\n--boundary",                   // no CR: not a delimiter
                                      "\r--boundary",                   // no LF: not a delimiter
                                      "--boundary",                     // no CRLF: not a delimiter
                                      "x\r\n--Boundary");               // case matters in boundaries
    const std::string body =
        "--boundary\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
        "\r\n" +
        data + "\r\n--boundary--";
    const Outcome o = parse_every_way(body, boundary);
    CHECK(o.done);
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].data == data);
}

TEST_CASE("NUL bytes, CRs and high bytes in file content are kept byte for byte") {
    const std::string data = "\0\0\r\0\n\xff\xfe\r\n\0-\r\n--\0B\r"s;
    const std::string body =
        "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"s + data + "\r\n--B--"s;
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].data == data);
}

TEST_CASE("a part with empty content begins and ends without data") {
    const std::string body =
        "--B\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n"
        "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\n\r\n"
        "--B--";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{field("empty", ""), file("f", "", "", "")});
}

TEST_CASE("the preamble and the epilogue are ignored") {
    const std::string body =
        "This is a preamble.\r\nIt mentions -- B, --C and B--\r\n--C\r\n--\r\n-"
        "\r\n--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        "--B--\r\nThis is the epilogue.\r\n--B\r\nContent-Disposition: form-data; name=\"b\"\r\n"
        "--B--junk\r\n\n\r\r";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{field("a", "1")});
}

TEST_CASE("a delimiter followed by junk is refused even in the preamble") {
    // RFC 2046 forbids the delimiter anywhere but on boundary lines, and accepting
    // "--Bx" as text would let two parsers disagree about where parts start.
    const std::string body =
        "preamble\r\n--Bx\r\n--B\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--B--";
    CHECK(parse_every_way(body).error == Error::bad_boundary_line);
}

TEST_CASE("the first boundary may open the body or follow a CRLF") {
    const std::string part = "Content-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B--";
    CHECK(parse_every_way("--B\r\n" + part).parts == std::vector<Part>{field("a", "v")});
    CHECK(parse_every_way("\r\n--B\r\n" + part).parts == std::vector<Part>{field("a", "v")});
    CHECK(parse_every_way("\r\n\r\n--B\r\n" + part).parts == std::vector<Part>{field("a", "v")});
}

TEST_CASE("a boundary line may carry transport padding before its CRLF") {
    const std::string body =
        "--B \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B\t\r\n"
        "Content-Disposition: form-data; name=\"b\"\r\n\r\nw\r\n--B--  trailing\r\n";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{field("a", "v"), field("b", "w")});
}

TEST_CASE("names and filenames are read quoted, with escapes, or as tokens") {
    const std::string body =
        "--B\r\n"
        "Content-Disposition: form-data; name=plain; filename=cv.pdf\r\n\r\n1\r\n"
        "--B\r\n"
        "content-disposition:FORM-DATA;NAME=\"q\";FILENAME=\"say \\\"hi\\\" \\\\ ok.pdf\"\r\n"
        "\r\n2\r\n"
        "--B\r\n"
        "Content-Disposition: form-data ; name = \"semi;colon\" ; filename=\"a; b.pdf\"; "
        "size=3\r\n\r\n3\r\n"
        "--B--";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{
                         file("plain", "cv.pdf", "", "1"),
                         file("q", "say \"hi\" \\ ok.pdf", "", "2"),
                         file("semi;colon", "a; b.pdf", "", "3"),
                     });
}

TEST_CASE("filename* (RFC 5987) is decoded and preferred over filename") {
    const std::string body =
        "--B\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"resume.pdf\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.pdf\r\n\r\n1\r\n"
        "--B\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename*=utf-8'en'na%C3%AFve.pdf; "
        "filename=\"naive.pdf\"\r\n\r\n2\r\n"
        "--B\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename*=ISO-8859-1''caf%E9.pdf\r\n\r\n3\r\n"
        "--B--";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{
                         file("f", "r\xC3\xA9sum\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC.pdf", "", "1"),
                         file("f", "na\xC3\xAFve.pdf", "", "2"),
                         file("f", "caf\xC3\xA9.pdf", "", "3"),
                     });
}

TEST_CASE("a filename with a path is returned as sent, for the caller to sanitise") {
    const std::string body =
        "--B\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"..\\..\\evil.pdf\"\r\n\r\n1\r\n"
        "--B\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n\r\n2\r\n"
        "--B\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename=\"C:\\Users\\me\\cv.pdf\"\r\n\r\n3\r\n"
        "--B--";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{
                         file("f", "..\\..\\evil.pdf", "", "1"),
                         file("f", "../../etc/passwd", "", "2"),
                         file("f", "C:\\Users\\me\\cv.pdf", "", "3"),
                     });
}

TEST_CASE("header names are case-insensitive, unknown headers are skipped, folded lines unfold") {
    const std::string body =
        "--B\r\n"
        "X-Whatever: --B\r\n"
        "CONTENT-TYPE:   text/plain; charset=utf-8  \r\n"
        "content-disposition: form-data;\r\n"
        "\tname=\"folded\"\r\n"
        "\r\nv\r\n--B--";
    const Outcome o = parse_every_way(body);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{Part{"folded", std::nullopt, "text/plain; charset=utf-8", "v", true}});
}

TEST_CASE("the boundary string inside header values does not end the headers") {
    const std::string on_one_line =
        "--B\r\nContent-Disposition: form-data; name=\"--B\"; filename=\"--B--\"\r\n\r\nv\r\n--B--";
    const Outcome o = parse_every_way(on_one_line);
    CHECK(o.done);
    CHECK(o.parts == std::vector<Part>{file("--B", "--B--", "", "v")});

    // A value cut across lines by "\r\n--B--" or "\r\n--B": the cut line is read as a
    // header line, so the quoted value is left unterminated; it is never taken for a
    // delimiter that would end the headers or the body.
    for (const std::string& cut : {"--B--"s, "--B"s, "--B\r\nContent-Disposition: form-data; name=y"s}) {
        INFO("cut by " << printable(cut));
        const std::string body =
            "--B\r\nContent-Disposition: form-data; name=\"x\r\n" + cut + "\"\r\n\r\nv\r\n--B--";
        CHECK(parse_every_way(body).error == Error::bad_content_disposition);
        const Outcome cut_short = parse_every_way(body.substr(0, body.find("\r\n\r\n")));
        CHECK_FALSE(cut_short.done);
        CHECK(cut_short.error != Error::none);
    }
}

TEST_CASE("a header block cut short by the next delimiter is an error, not a part") {
    const std::string body =
        "--B\r\n"
        "Content-Disposition: form-data; name=\"a\"\r\n"
        "--B\r\n"
        "Content-Disposition: form-data; name=\"b\"\r\n\r\nv\r\n--B--";
    CHECK(parse_every_way(body).error == Error::header_without_colon);
    const std::string closing = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n--B--\r\n";
    CHECK(parse_every_way(closing).error == Error::header_without_colon);
}

TEST_CASE("max_parts parts are accepted and one more is refused at its part_begin") {
    const mp::Limits limits{.max_part_header_bytes = 8 * 1024, .max_parts = 2};
    const std::string part = "Content-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n";
    const Outcome two = parse_every_way("--B\r\n" + part + "--B\r\n" + part + "--B--", "B", limits);
    CHECK(two.done);
    CHECK(two.parts_seen == 2);
    const Outcome three =
        parse_every_way("--B\r\n" + part + "--B\r\n" + part + "--B\r\n" + part + "--B--", "B", limits);
    CHECK(three.error == Error::too_many_parts);
    CHECK(three.parts_seen == 2);
    CHECK(three.parts == std::vector<Part>{field("p", "v"), field("p", "v")});
    const Outcome none = parse_every_way("--B\r\n" + part + "--B--", "B", {.max_parts = 0});
    CHECK(none.error == Error::too_many_parts);
    CHECK(none.parts.empty());
}

TEST_CASE("a header block of max_part_header_bytes is accepted and one byte more is refused") {
    const std::string block = "Content-Disposition: form-data; name=\"p\"\r\n\r\n";  // 44 bytes
    REQUIRE(block.size() == 44);
    const std::string body = "--B\r\n" + block + "v\r\n--B--";
    CHECK(parse_every_way(body, "B", {.max_part_header_bytes = 44}).done);
    CHECK(parse_every_way(body, "B", {.max_part_header_bytes = 43}).error == Error::header_too_large);
    const std::string endless = "--B\r\nX: " + std::string(10'000, 'a');
    CHECK(parse_whole(endless).error == Error::header_too_large);
}

TEST_CASE("every malformed body is refused with the error that names its fault") {
    struct Case {
        const char* why;
        std::string body;
        Error expected;
        mp::Limits limits = {};
    };
    const std::string ok_part = "Content-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n";
    const std::vector<Case> cases = {
        {"empty body", "", Error::missing_initial_boundary},
        {"no boundary at all", "just some text\r\n", Error::missing_initial_boundary},
        {"another boundary", "--C\r\n" + ok_part + "--C--", Error::missing_initial_boundary},
        {"boundary without its dashes", "B\r\n" + ok_part, Error::missing_initial_boundary},
        {"boundary cut at the end", "preamble\r\n--", Error::missing_initial_boundary},
        {"junk after the first boundary", "--Bx\r\n" + ok_part + "--B--", Error::bad_boundary_line},
        {"junk after a later boundary", "--B\r\n" + ok_part + "--B2\r\n" + ok_part + "--B--",
         Error::bad_boundary_line},
        {"junk after padding", "--B  x\r\n" + ok_part, Error::bad_boundary_line},
        {"CR without LF after a boundary", "--B\rx" + ok_part, Error::bad_boundary_line},
        {"bare LF after a boundary", "--B\n" + ok_part, Error::bad_boundary_line},
        {"padding before the closing dashes", "--B\r\n" + ok_part + "--B --", Error::bad_boundary_line},
        {"a single closing dash", "--B\r\n" + ok_part + "--B-x", Error::bad_boundary_line},
        {"header line without colon", "--B\r\nContent-Disposition form-data\r\n\r\nv\r\n--B--",
         Error::header_without_colon},
        {"header with an empty name", "--B\r\n: form-data\r\n\r\nv\r\n--B--", Error::header_without_colon},
        {"header name with a space", "--B\r\nContent Disposition: form-data; name=a\r\n\r\n",
         Error::header_without_colon},
        {"continuation with nothing to continue", "--B\r\n name: x\r\n\r\n", Error::header_without_colon},
        {"bare LF in headers", "--B\r\nContent-Disposition: form-data; name=a\n\nv\r\n--B--",
         Error::header_bad_line_ending},
        {"CR without LF in headers", "--B\r\nContent-Disposition: form-data; name=a\rx\r\n\r\n",
         Error::header_bad_line_ending},
        {"bare LF ending the header block", "--B\r\nContent-Disposition: form-data; name=a\r\n\n",
         Error::header_bad_line_ending},
        {"header block over the limit",
         "--B\r\n" + ok_part + "--B--",
         Error::header_too_large,
         {.max_part_header_bytes = 10}},
        {"no Content-Disposition", "--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--",
         Error::missing_content_disposition},
        {"no headers at all", "--B\r\n\r\nv\r\n--B--", Error::missing_content_disposition},
        {"attachment, not form-data", one_field_body("attachment; name=\"a\""),
         Error::bad_content_disposition},
        {"form-data without a name", one_field_body("form-data; filename=\"a.pdf\""),
         Error::bad_content_disposition},
        {"empty disposition", one_field_body(""), Error::bad_content_disposition},
        {"unterminated quoted name", one_field_body("form-data; name=\"a"), Error::bad_content_disposition},
        {"junk after a quoted value", one_field_body("form-data; name=\"a\"b"),
         Error::bad_content_disposition},
        {"parameter without a value", one_field_body("form-data; name="), Error::bad_content_disposition},
        {"parameter without =", one_field_body("form-data; name"), Error::bad_content_disposition},
        {"two names", one_field_body("form-data; name=a; name=b"), Error::bad_content_disposition},
        {"two filenames", one_field_body("form-data; name=a; filename=x; filename=y"),
         Error::bad_content_disposition},
        {"filename* in an unknown charset", one_field_body("form-data; name=a; filename*=Shift_JIS''x"),
         Error::bad_content_disposition},
        {"filename* without charset quotes", one_field_body("form-data; name=a; filename*=x.pdf"),
         Error::bad_content_disposition},
        {"filename* with a broken escape", one_field_body("form-data; name=a; filename*=UTF-8''a%G1"),
         Error::bad_content_disposition},
        {"filename* with a cut escape", one_field_body("form-data; name=a; filename*=UTF-8''a%4"),
         Error::bad_content_disposition},
        {"two Content-Disposition headers",
         "--B\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
         "name=b\r\n\r\nv\r\n--B--",
         Error::bad_content_disposition},
        {"one part too many",
         "--B\r\n" + ok_part + "--B\r\n" + ok_part + "--B--",
         Error::too_many_parts,
         {.max_parts = 1}},
        {"ends after the first boundary", "--B", Error::truncated},
        {"ends in boundary padding", "--B  ", Error::truncated},
        {"ends after a boundary's CR", "--B\r", Error::truncated},
        {"ends in the headers", "--B\r\nContent-Disposition: form-data; name=a\r\n", Error::truncated},
        {"ends after a header's CR", "--B\r\nContent-Disposition: form-data; name=a\r", Error::truncated},
        {"ends in content", "--B\r\n" + ok_part, Error::truncated},
        {"ends in content without a CRLF", "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nv",
         Error::truncated},
        {"ends in a partial delimiter", "--B\r\n" + ok_part + "--", Error::truncated},
        {"ends after a delimiter", "--B\r\n" + ok_part + "--B", Error::truncated},
        {"ends after one closing dash", "--B\r\n" + ok_part + "--B-", Error::truncated},
    };
    std::set<Error> produced;
    for (const Case& c : cases) {
        INFO(c.why);
        const Outcome o = parse_every_way(c.body, "B", c.limits);
        CHECK(o.error == c.expected);
        CHECK_FALSE(o.done);
        produced.insert(o.error);
    }
    for (const Error e :
         {Error::missing_initial_boundary, Error::bad_boundary_line, Error::header_without_colon,
          Error::header_bad_line_ending, Error::header_too_large, Error::missing_content_disposition,
          Error::bad_content_disposition, Error::too_many_parts, Error::truncated}) {
        INFO("error " << static_cast<int>(e));
        CHECK(produced.count(e) == 1);
    }
}

TEST_CASE("a truncated body hands over all content it had before the error") {
    const std::string body = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nhello\r\n--";
    const Outcome o = parse_every_way(body);
    CHECK(o.error == Error::truncated);
    REQUIRE(o.parts.size() == 1);
    CHECK(o.parts[0].data == "hello\r\n--");
    CHECK_FALSE(o.parts[0].complete);
}

TEST_CASE("a parser given an invalid boundary fails instead of guessing") {
    const std::string body = "--a\rb\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--a\rb--";
    for (const std::string& boundary : {""s, "a\rb"s, std::string(71, 'x'), "ends in space "s}) {
        INFO("boundary \"" << printable(boundary) << "\"");
        CHECK(parse_whole(body, boundary).error == Error::missing_initial_boundary);
    }
}

TEST_CASE("large random content survives any chunk sizes") {
    std::mt19937_64 rng(20240601);
    std::string content(200'000, '\0');
    for (char& c : content) c = static_cast<char>(rng());
    // Sprinkle near-delimiters so that hold-back is exercised at chunk edges.
    // The Z keeps a random 'y' from completing the delimiter.
    const std::string traps[] = {"\r", "\r\n", "\r\n-", "\r\n--", "\r\n--bound", "\r\n--boundarZ"};
    for (int i = 0; i < 2000; ++i) {
        const std::string& t = traps[rng() % std::size(traps)];
        content.replace(rng() % (content.size() - 16), t.size(), t);
    }
    REQUIRE(content.find("\r\n--boundary") == std::string::npos);
    const std::string body =
        "preamble\r\n--boundary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"r.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n" +
        content + "\r\n--boundary--\r\n";
    for (const std::size_t max_chunk : {1, 2, 3, 7, 13, 64, 1000, 65536}) {
        INFO("chunks up to " << max_chunk << " bytes");
        std::vector<std::string_view> chunks;
        for (std::size_t at = 0; at < body.size();) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % max_chunk, body.size() - at);
            chunks.push_back(std::string_view(body).substr(at, n));
            at += n;
        }
        const Outcome o = parse_chunks(chunks, "boundary");
        CHECK(o.broken.empty());
        CHECK(o.done);
        REQUIRE(o.parts.size() == 1);
        CHECK(o.parts[0].data.size() == content.size());
        CHECK((o.parts[0].data == content));  // bool: printing 200 kB of noise helps no one
    }
}

TEST_CASE("a part_data view is never longer than what was fed plus the held-back delimiter prefix") {
    const std::string body = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n" + std::string(100, 'x') +
                             "\r\n-" + std::string(100, 'y') + "\r\n--B--";
    mp::Parser parser{"B"};
    std::size_t total = 0;
    for (std::size_t at = 0; at < body.size(); at += 10) {
        parser.feed(std::string_view(body).substr(at, 10));
        for (Event e = parser.next(); e != Event::need_more && e != Event::done; e = parser.next()) {
            REQUIRE(e != Event::error);
            if (e == Event::part_data) {
                CHECK(parser.data().size() <= 10 + std::string_view("\r\n--B").size());
                total += parser.data().size();
            }
        }
    }
    parser.finish();
    CHECK(parser.next() == Event::done);
    CHECK(total == 203);
}

TEST_CASE("every error has its own client-facing sentence") {
    CHECK(mp::describe(Error::none) == "ok");
    CHECK(mp::describe(Error::truncated) ==
          "Malformed multipart body: the closing boundary is missing (body truncated)");
    std::set<std::string_view> sentences;
    for (const Error e :
         {Error::missing_initial_boundary, Error::bad_boundary_line, Error::header_without_colon,
          Error::header_bad_line_ending, Error::header_too_large, Error::missing_content_disposition,
          Error::bad_content_disposition, Error::too_many_parts, Error::truncated}) {
        const std::string_view s = mp::describe(e);
        CHECK(s.size() > 20);
        CHECK(s.find("ultipart") != std::string_view::npos);
        sentences.insert(s);
    }
    CHECK(sentences.size() == 9);
}

TEST_CASE("boundary_from_content_type accepts multipart/form-data with a valid boundary") {
    using mp::boundary_from_content_type;
    CHECK(boundary_from_content_type("multipart/form-data; boundary=abc") == "abc");
    CHECK(boundary_from_content_type("multipart/form-data;boundary=abc") == "abc");
    CHECK(boundary_from_content_type("Multipart/Form-Data; BOUNDARY=\"x\"") == "x");
    CHECK(boundary_from_content_type("  multipart/form-data ;\tboundary = abc ; charset=utf-8 ") == "abc");
    CHECK(boundary_from_content_type("multipart/form-data; charset=utf-8; boundary=abc") == "abc");
    CHECK(boundary_from_content_type("multipart/form-data;; boundary=abc;") == "abc");
    CHECK(boundary_from_content_type("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW") ==
          "----WebKitFormBoundary7MA4YWxkTrZu0gW");
    CHECK(boundary_from_content_type("multipart/form-data; boundary=\"a b'()+_,-./:=?z\"") ==
          "a b'()+_,-./:=?z");
    CHECK(boundary_from_content_type("multipart/form-data; boundary=\"a\\\"\"").has_value() == false);
    CHECK(boundary_from_content_type("multipart/form-data; boundary=\"a\\bc\"") == "abc");
    CHECK(boundary_from_content_type("multipart/form-data; boundary=a=b") == "a=b");
    CHECK(boundary_from_content_type("multipart/form-data; boundary=" + std::string(70, 'x')) ==
          std::string(70, 'x'));
}

TEST_CASE("boundary_from_content_type refuses anything else") {
    using mp::boundary_from_content_type;
    const std::vector<std::string> refused = {
        "",
        "multipart/form-data",
        "multipart/form-data;",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=" + std::string(71, 'x'),
        "multipart/form-data; boundary=\"" + std::string(71, 'x') + "\"",
        "multipart/form-data; boundary=\"ends in space \"",
        "multipart/form-data; boundary=a*b",
        "multipart/form-data; boundary=\"a\\\\b\"",
        "multipart/form-data; boundary=\"a\rb\"",
        "multipart/form-data; boundary=\"unterminated",
        "multipart/form-data; boundary=a; boundary=b",
        "multipart/form-data; boundary=a b",
        "multipart/form-data boundary=abc",
        "multipart/mixed; boundary=abc",
        "application/x-www-form-urlencoded; boundary=abc",
        "multipart/form-datax; boundary=abc",
        "text/plain",
        "multipart/form-data; boundary=\xc3\xa9",
    };
    for (const std::string& ct : refused) {
        INFO("Content-Type: " << printable(ct));
        CHECK_FALSE(boundary_from_content_type(ct).has_value());
    }
}
