// Streaming multipart uploads through the real server into the real upload volume: files are
// written chunk by chunk as they arrive, and a malformed or refused body leaves no file.

#include "http/server_support.hpp"

#include <cvgate/adapters/upload_volume.hpp>
#include <cvgate/exec/blocking_pool.hpp>
#include <cvgate/http/error.hpp>
#include <cvgate/http/form.hpp>
#include <cvgate/jobs/ids.hpp>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <thread>

using namespace cvgate;
using namespace std::chrono_literals;
using test::detail_of;

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// A test route: every file part is staged on the volume as it streams; the answer lists the
// fields and the sizes written. Staged files are dropped at the end (like a rejected upload).
class StagingSink final : public http::FormSink {
public:
    explicit StagingSink(adapters::UploadVolume& v) : volume_{v} {}
    asio::awaitable<void> field(std::string_view name, std::string value) override {
        fields[std::string{name}] = std::move(value);
        co_return;
    }
    asio::awaitable<void> file_begin(const http::multipart::PartHeaders& h) override {
        current_ = co_await volume_.stage();
        names.push_back(*h.filename);
        sizes.push_back(0);
        ++open_files;
        max_open = std::max(max_open, volume_.staged_on_disk());
    }
    asio::awaitable<void> file_data(std::string_view chunk) override {
        sizes.back() += chunk.size();
        co_await current_->write(chunk);
    }
    asio::awaitable<void> file_end() override {
        co_await current_->complete();
        staged_.push_back(std::move(current_));
    }
    asio::awaitable<void> flush() override {
        if (current_) co_await current_->flush();
    }
    // Moves the staged files into the job's directory, as a submission does.
    asio::awaitable<std::vector<std::string>> place(std::string_view job_id) {
        std::vector<jobs::Placement> placements;
        for (std::size_t i = 0; i < staged_.size(); ++i)
            placements.push_back({staged_[i].get(), "cv" + std::to_string(i) + ".pdf"});
        co_return co_await volume_.place(job_id, std::move(placements));
    }

    std::map<std::string, std::string> fields;
    std::vector<std::string> names;
    std::vector<std::size_t> sizes;
    std::size_t open_files = 0;
    std::size_t max_open = 0;

private:
    adapters::UploadVolume& volume_;
    std::unique_ptr<jobs::StagedFile> current_;
    std::vector<std::unique_ptr<jobs::StagedFile>> staged_;
};

struct UploadRig {
    fs::path dir = fs::temp_directory_path() / ("cvgate-upload-" + jobs::new_job_id());
    exec::BlockingPool pool{2};
    std::atomic<int> syncs{0};  // the volume's background fdatasyncs that finished
    adapters::UploadVolume volume{dir.string(), pool, [this](const clients::CallRecord& r) {
                                      if (r.operation == "sync") ++syncs;
                                  }};
    http::Router router;
    http::FormLimits limits;

    UploadRig() {
        limits.max_files = 5;
        limits.max_parts = 20;
        limits.max_field_bytes = 1000;
        router.add(
            http::Verb::post, "/upload", [this](http::Request& req) -> asio::awaitable<http::Response> {
                StagingSink sink{volume};
                co_await http::read_form(req, sink, limits);
                boost::json::object body;
                if (req.target().ends_with("?place")) {
                    boost::json::array paths;
                    for (auto& p : co_await sink.place(jobs::new_job_id()))
                        paths.push_back(boost::json::string{p});
                    body["paths"] = std::move(paths);
                }
                boost::json::array files;
                for (std::size_t i = 0; i < sink.names.size(); ++i)
                    files.push_back(boost::json::object{{"name", sink.names[i]}, {"size", sink.sizes[i]}});
                body["files"] = std::move(files);
                for (auto& [k, v] : sink.fields) body[k] = v;
                co_return http::json_response(http::Status::ok, body);
            });
    }
    ~UploadRig() { fs::remove_all(dir); }

    // Staged files linger only until the pool has run their removal.
    bool incoming_empty() {
        for (int i = 0; i < 200 && volume.staged_on_disk() > 0; ++i) std::this_thread::sleep_for(10ms);
        return volume.staged_on_disk() == 0;
    }
};

std::string post(std::string_view body, std::string_view boundary = "XyZ",
                 std::string_view target = "/upload") {
    return "POST " + std::string{target} +
           " HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=" + std::string{boundary} +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string{body};
}

std::string file_part(std::string_view name, std::string_view content) {
    return "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + std::string{name} +
           "\"\r\nContent-Type: application/pdf\r\n\r\n" + std::string{content} + "\r\n";
}

std::string field_part(std::string_view name, std::string_view value) {
    return "--XyZ\r\nContent-Disposition: form-data; name=\"" + std::string{name} + "\"\r\n\r\n" +
           std::string{value} + "\r\n";
}

}  // namespace

TEST_CASE("a multipart form streams its files and fields to the handler", "[http][upload]") {
    UploadRig rig;
    test::TestServer server{rig.router};
    test::Client c{server.port()};
    std::string big(200'000, '\r');  // CRs everywhere: the boundary scan must not be fooled
    c.send(post(field_part("jd_text", "hello") + file_part("a.pdf", "%PDF-1") + file_part("b.pdf", big) +
                "--XyZ--\r\n"));
    auto r = c.read_reply();
    REQUIRE(r.result_int() == 200);
    auto body = boost::json::parse(r.body());
    CHECK(body.at("jd_text") == "hello");
    CHECK(body.at("files").as_array().size() == 2);
    CHECK(body.at("files").as_array()[1].at("size") == 200'000);
    CHECK(rig.incoming_empty());
}

TEST_CASE("a form with Expect: 100-continue and a chunked body is read whole", "[http][upload]") {
    UploadRig rig;
    test::TestServer server{rig.router};
    test::Client c{server.port()};
    const std::string body = file_part("a.pdf", std::string(70'000, 'p')) + "--XyZ--\r\n";
    c.send(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    CHECK_THAT(c.read_head_raw(), Catch::StartsWith("HTTP/1.1 100 Continue"));
    for (std::size_t i = 0; i < body.size(); i += 1000) {
        const auto piece = body.substr(i, 1000);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        c.send(size + piece + "\r\n");
    }
    c.send("0\r\n\r\n");
    auto r = c.read_reply();
    REQUIRE(r.result_int() == 200);
    CHECK(boost::json::parse(r.body()).at("files").as_array()[0].at("size") == 70'000);
}

TEST_CASE("malformed multipart bodies are 400 with a precise detail and leave no staged file",
          "[http][upload]") {
    UploadRig rig;
    test::TestServer server{rig.router};
    struct Case {
        std::string name;
        std::string request;
        std::string detail_contains;
    };
    const std::vector<Case> cases = {
        {"missing closing boundary", post(file_part("a.pdf", "data")), "closing boundary"},
        {"truncated in a part",
         post("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.pdf\"\r\n\r\nabc"),
         "closing boundary"},
        {"no initial boundary", post("just some bytes"), ""},
        {"header without colon", post("--XyZ\r\nContent-Disposition form-data\r\n\r\nx\r\n--XyZ--\r\n"),
         "colon"},
        {"CR without LF in a header",
         post("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\rX\r\n\r\nx\r\n--XyZ--\r\n"), ""},
        {"no boundary parameter",
         "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data\r\nContent-Length: 0\r\n\r\n",
         "boundary"},
    };
    for (const auto& tc : cases) {
        SECTION(tc.name) {
            test::Client c{server.port()};
            c.send(tc.request);
            auto r = c.read_reply();
            CHECK(r.result_int() == 400);
            CHECK_THAT(detail_of(r), Catch::StartsWith("Malformed multipart body"));
            CHECK_THAT(detail_of(r), Catch::Contains(tc.detail_contains));
            CHECK(rig.incoming_empty());
        }
    }
}

TEST_CASE("a body that is not multipart/form-data is 415", "[http][upload]") {
    UploadRig rig;
    test::TestServer server{rig.router};
    test::Client c{server.port()};
    c.send(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    auto r = c.read_reply();
    CHECK(r.result_int() == 415);
    CHECK(detail_of(r) == "Content-Type must be multipart/form-data");
}

TEST_CASE("too many files, too many parts and oversized fields are 413 and leave nothing", "[http][upload]") {
    UploadRig rig;
    test::TestServer server{rig.router};
    SECTION("files") {
        std::string body;
        for (int i = 0; i < 6; ++i) body += file_part("f" + std::to_string(i) + ".pdf", "%PDF-");
        test::Client c{server.port()};
        c.send(post(body + "--XyZ--\r\n"));
        auto r = c.read_reply();
        CHECK(r.result_int() == 413);
        CHECK_THAT(detail_of(r), Catch::Contains("Too many files"));
    }
    SECTION("a million tiny parts are stopped at the part limit") {
        std::string body;
        for (int i = 0; i < 5000; ++i) body += field_part("x", "");
        test::Client c{server.port()};
        c.send(post(body + "--XyZ--\r\n"));
        auto r = c.read_reply();
        CHECK(r.result_int() == 413);
        CHECK_THAT(detail_of(r), Catch::Contains("Too many form parts"));
    }
    SECTION("field") {
        test::Client c{server.port()};
        c.send(post(field_part("jd_text", std::string(2000, 'j')) + "--XyZ--\r\n"));
        CHECK(c.read_reply().result_int() == 413);
    }
    CHECK(rig.incoming_empty());
    test::Client ok{server.port()};
    ok.send(post(file_part("a.pdf", "%PDF-") + "--XyZ--\r\n"));
    CHECK(ok.read_reply().result_int() == 200);
}

TEST_CASE("a client that disappears mid-upload leaves no staged file", "[http][upload]") {
    UploadRig rig;
    test::TestServer server{rig.router};
    {
        test::Client c{server.port()};
        const std::string body = file_part("a.pdf", std::string(100'000, 'x')) + "--XyZ--\r\n";
        const std::string req = post(body);
        c.send(req.substr(0, req.size() / 2));
        std::this_thread::sleep_for(200ms);
    }  // closed half-way
    std::this_thread::sleep_for(300ms);
    CHECK(rig.incoming_empty());
}

TEST_CASE("files many write batches long arrive on the volume byte for byte", "[http][upload]") {
    UploadRig rig;
    auto options = test::TestServer::defaults();
    options.limits.max_body_size = 16 << 20;
    test::TestServer server{rig.router, options};
    test::Client c{server.port()};
    // Sizes around the write batch (1 MiB): just under, just over, several, and tiny.
    std::vector<std::string> contents;
    std::uint32_t x = 12345;
    for (std::size_t size : {(1u << 20) - 7, (1u << 20) + 13, 3 * (1u << 20) + 4321, 9u}) {
        std::string content = "%PDF-";
        while (content.size() < size) {
            x = x * 1103515245u + 12345u;
            content.push_back(static_cast<char>(x >> 24));
        }
        contents.push_back(std::move(content));
    }
    std::string body;
    for (std::size_t i = 0; i < contents.size(); ++i)
        body += file_part("f" + std::to_string(i) + ".pdf", contents[i]);
    body += "--XyZ--\r\n";
    c.send(post(body, "XyZ", "/upload?place"));
    auto r = c.read_reply();
    REQUIRE(r.result_int() == 200);
    auto paths = boost::json::parse(r.body()).at("paths").as_array();
    REQUIRE(paths.size() == contents.size());
    for (std::size_t i = 0; i < contents.size(); ++i) {
        std::ifstream in{std::string{paths[i].as_string()}, std::ios::binary};
        const std::string stored{std::istreambuf_iterator<char>{in}, {}};
        CHECK(stored.size() == contents[i].size());
        CHECK(stored == contents[i]);
    }
    CHECK(rig.incoming_empty());
}

TEST_CASE("an upload waiting for its client holds no buffered bytes: they are on the staged file",
          "[http][upload]") {
    UploadRig rig;
    auto options = test::TestServer::defaults();
    options.limits.body_timeout = std::chrono::seconds{30};  // the client's pause is not a timeout
    test::TestServer server{rig.router, options};
    test::Client c{server.port()};
    const std::string content = "%PDF-" + std::string(300'000, 'x');  // less than one write batch
    const std::string req = post(file_part("a.pdf", content) + "--XyZ--\r\n");
    const std::size_t head = req.find("%PDF-");
    const std::size_t sent_content = 200'000;
    c.send(req.substr(0, head + sent_content));
    // The client stalls: the server hands what it has to the volume instead of keeping it.
    std::uintmax_t staged = 0;
    for (int i = 0; i < 500 && staged != sent_content; ++i) {
        std::this_thread::sleep_for(10ms);
        staged = 0;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator{rig.dir / ".incoming", ec})
            staged += fs::file_size(e.path(), ec);
    }
    CHECK(staged == sent_content);
    c.send(req.substr(head + sent_content));
    auto r = c.read_reply();
    REQUIRE(r.result_int() == 200);
    CHECK(boost::json::parse(r.body()).at("files").as_array()[0].at("size") == content.size());
}

TEST_CASE(
    "a file is made durable while it streams in: a sync once 4 MiB are on it and once it is complete, "
    "never one per pause of its client",
    "[http][upload]") {
    UploadRig rig;
    auto options = test::TestServer::defaults();
    options.limits.max_body_size = 16 << 20;
    options.limits.body_timeout = std::chrono::seconds{30};  // the client's pauses are not timeouts
    test::TestServer server{rig.router, options};
    test::Client c{server.port()};
    const std::string content = "%PDF-" + std::string((6u << 20) - 5, 'x');
    const std::string req = post(file_part("a.pdf", content) + "--XyZ--\r\n", "XyZ", "/upload?place");
    const std::size_t first = req.find("%PDF-") + (5u << 20);

    // 5 MiB, then the client pauses: they are written out, and one sync starts while the
    // upload is still in progress (before, the only one was the fsync when placing).
    c.send(req.substr(0, first));
    for (int i = 0; i < 500 && rig.syncs == 0; ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(rig.syncs == 1);

    // A client trickling bytes, pausing after each, gets its bytes written but costs no sync:
    // less than 4 MiB are unsynced.
    std::size_t at = first;
    for (int i = 0; i < 10; ++i, at += 100) {
        c.send(req.substr(at, 100));
        std::this_thread::sleep_for(20ms);
    }
    CHECK(rig.syncs == 1);

    // The rest: complete, the file is synced once more, and is placed byte for byte.
    c.send(req.substr(at));
    auto r = c.read_reply();
    REQUIRE(r.result_int() == 200);
    CHECK(rig.syncs == 2);
    const auto paths = boost::json::parse(r.body()).at("paths").as_array();
    REQUIRE(paths.size() == 1);
    CHECK(fs::file_size(std::string{paths[0].as_string()}) == content.size());
}
