// Crash safety (CONTRACT.md, "Failure semantics"), end to end: a real cvgate process killed
// with SIGKILL at each step of submit and add-cvs (CVGATE_FAULT, compiled into test builds
// only), and a live replica on the same volume, database and queue that must remove what the
// dead one left within RECOVERY_SECONDS without touching any live replica's work. Every test
// audits the stores afterwards: files, documents, messages.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace cvgate::test;
using namespace std::chrono_literals;

constexpr auto recovery = std::chrono::seconds{6};
// The contract's bound, with room for a loaded machine: what is promised within
// RECOVERY_SECONDS must at least happen within twice that.
constexpr auto within_recovery = std::chrono::duration_cast<std::chrono::milliseconds>(recovery * 2);

// A form whose one file is big enough that a body cut 1000 bytes short is mid-file.
Multipart big_form(std::string_view label) {
    Multipart form;
    form.field("jd_text", job_description());
    form.file(std::string{label} + ".pdf", pdf_bytes(label) + std::string(200'000, 'x'), "application/pdf");
    return form;
}

Gateway::Tweak with_recovery() {
    return [](cvgate::app::Config& c) { c.recovery = recovery; };
}

// Another replica (api_support.hpp), sweeping every RECOVERY_SECONDS as this file's do.
Gateway::Tweak recovering_replica_of(const Gateway& first) {
    return [shared = replica_of(first)](cvgate::app::Config& c) {
        shared(c);
        c.recovery = recovery;
    };
}

// The files of the staging directory whose name ends with `suffix`.
std::vector<std::string> staged(const Gateway& gw, std::string_view suffix) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator{gw.volume() + "/.incoming", ec}) {
        const std::string name = e.path().filename().string();
        if (name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            found.push_back(name);
    }
    return found;
}

// The job directories on the volume.
std::vector<std::string> job_dirs(const Gateway& gw) {
    std::vector<std::string> dirs;
    for (const auto& e : fs::directory_iterator{gw.volume()})
        if (e.is_directory() && e.path().filename() != ".incoming")
            dirs.push_back(e.path().filename().string());
    return dirs;
}

// A cvgate process of its own (the real binary) on `gw`'s volume, database and queue, that
// kills itself with SIGKILL at the fault point named.
class Doomed {
public:
    Doomed(const Gateway& gw, const std::string& fault) : log_{gw.dir() + "/doomed-" + fault + ".log"} {
        const auto& c = gw.config();
        std::vector<std::string> env;
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
        for (const std::string& kv : std::vector<std::string>{
                 "LISTEN_ADDR=127.0.0.1", "PORT=0", "UPLOAD_VOLUME_PATH=" + c.upload_volume_path,
                 "MONGO_URL=" + c.mongo.url, "MONGO_DB_NAME=" + c.mongo.database,
                 "DATABASE_URL=" + c.postgres.connection.url, "RABBITMQ_URL=" + c.rabbitmq_url,
                 "JOBS_QUEUE=" + c.jobs_queue, "RECOVERY_SECONDS=" + std::to_string(recovery.count()),
                 "IO_THREADS=1", "BLOCKING_THREADS=2", "LOG_FORMAT=json", "LOG_LEVEL=info",
                 "CVGATE_FAULT=" + fault})
            env.push_back(kv);
        std::vector<char*> envp;
        for (auto& kv : env) envp.push_back(kv.data());
        envp.push_back(nullptr);
        std::string binary = CVGATE_BINARY;
        char* argv[] = {binary.data(), nullptr};

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, envp.data());
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(rc == 0);

        // Its port, from its "listening" log line.
        const std::regex listening{R"("port":([0-9]+))"};
        const bool up = eventually(
            [&] {
                std::ifstream in{log_};
                std::string line;
                std::smatch m;
                while (std::getline(in, line))
                    if (line.find("listening") != std::string::npos &&
                        std::regex_search(line, m, listening)) {
                        port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
                        return true;
                    }
                return false;
            },
            20s);
        REQUIRE(up);
        REQUIRE(eventually([&] { return send_request(port_, "GET", "/readyz").status == 200; }, 30s));
    }
    ~Doomed() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    std::uint16_t port() const { return port_; }

    // Sends a request whose answer never comes: the process dies on the way.
    void send_and_die(std::string_view target, const Multipart& form) {
        try {
            const auto a = send_request(port_, "POST", target,
                                        "Content-Type: " + Multipart::content_type() + "\r\n", form.body());
            FAIL("the process answered " << a.status << " instead of dying: " << a.raw.body());
        } catch (const std::exception&) {
            // connection reset or closed: it died
        }
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        reaped_ = true;
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGKILL);
    }

private:
    std::string log_;
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::uint16_t port_ = 0;
};

}  // namespace

TEST_CASE(
    "cvgate killed at any step of a submit: a live replica removes the staged files, the job directory and "
    "the document within RECOVERY_SECONDS, and a job killed after its confirm stays whole") {
    for (const std::string point :
         {"submit.staged", "submit.placed", "submit.inserted", "submit.published"}) {
        DYNAMIC_SECTION(point) {
            Gateway gw{with_recovery()};
            {
                Doomed doomed{gw, point};
                doomed.send_and_die("/jobs/submit", form_with_pdfs(2));
            }
            if (point == "submit.published") {
                // Confirmed by the broker before the process died: complete everywhere, and kept.
                const auto dirs = job_dirs(gw);
                REQUIRE(dirs.size() == 1);
                const std::string id = dirs[0];
                CHECK(eventually([&] { return staged(gw, ".part").empty() && staged(gw, ".intent").empty(); },
                                 within_recovery));
                CHECK(gw.hot(id));
                CHECK(gw.hot_count() == 1);
                CHECK(gw.take_messages().size() == 1);
                CHECK(fs::exists(gw.volume() + "/" + id + "/" + id.substr(0, 8) + "_001.pdf"));
            } else {
                const bool recovered = eventually(
                    [&] {
                        return job_dirs(gw).empty() && staged(gw, ".part").empty() &&
                               staged(gw, ".intent").empty() && staged(gw, ".recovering").empty() &&
                               gw.hot_count() == 0;
                    },
                    within_recovery);
                INFO("left: dirs " << job_dirs(gw).size() << ", staged " << staged(gw, ".part").size()
                                   << ", documents " << gw.hot_count());
                CHECK(recovered);
                CHECK(gw.take_messages().empty());
            }
            // The dead replica is gone from the volume; the live one is all that remains.
            CHECK(eventually([&] { return staged(gw, ".alive").size() == 1; }, within_recovery));
            // And the live replica still works.
            accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
        }
    }
}

TEST_CASE(
    "cvgate killed at any step of an add-cvs: a live replica undoes the reopen and removes the new files "
    "within RECOVERY_SECONDS, leaving the job as it was") {
    for (const std::string point :
         {"add_cvs.staged", "add_cvs.placed", "add_cvs.reopening", "add_cvs.reopened", "add_cvs.published"}) {
        DYNAMIC_SECTION(point) {
            Gateway gw{with_recovery()};
            const std::string id = accepted(gw.post_form("/jobs/submit", form_with_pdfs(1)));
            const std::string p = id.substr(0, 8);
            REQUIRE(gw.take_messages().size() == 1);
            gw.push_result(id,
                           json::object{{"cv_id", p + "_000"}, {"candidate_name", "A"}, {"match_score", 1}});
            gw.set_status(id, "complete");
            {
                Doomed doomed{gw, point};
                doomed.send_and_die("/jobs/" + id + "/add-cvs", form_with_pdfs(2, "more"));
            }
            const bool published = point == "add_cvs.published";
            const bool recovered = eventually(
                [&] {
                    const auto doc = gw.hot(id);
                    return staged(gw, ".part").empty() && staged(gw, ".intent").empty() &&
                           staged(gw, ".recovering").empty() && doc &&
                           doc->at("expected_files") == (published ? 3 : 1) &&
                           tree(gw.volume() + "/" + id).size() == (published ? 3u : 1u);
                },
                within_recovery);
            const auto doc = gw.hot(id);
            INFO("document: " << (doc ? json::serialize(*doc) : std::string{"none"}));
            CHECK(recovered);
            CHECK(doc->at("status") == (published ? "pending" : "complete"));
            CHECK(gw.take_messages().size() == (published ? 1u : 0u));
            CHECK(fs::exists(gw.volume() + "/" + id + "/" + p + "_000.pdf"));
            // The ids the dead request took are not handed out again.
            const auto more = gw.post_form("/jobs/" + id + "/add-cvs", form_with_pdfs(1, "after"));
            REQUIRE(more.status == 202);
            CHECK(str(more.object().at("cv_details").as_array()[0].as_object().at("cv_id")) == p + "_003");
        }
    }
}

TEST_CASE(
    "the sweep removes a dead replica's upload but never the upload a live replica is still receiving") {
    Gateway gw{with_recovery()};
    Gateway live{recovering_replica_of(gw)};

    // A live replica receives an upload slowly: half the body now, the rest later.
    const auto form = big_form("slow");
    const std::string body = form.body();
    Client slow{live.port(), 60s};
    slow.send("POST /jobs/submit HTTP/1.1\r\nHost: cvgate.test\r\nContent-Type: " +
              Multipart::content_type() + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
              body.substr(0, body.size() - 1000));
    REQUIRE(eventually([&] { return staged(gw, ".part").size() == 1; }));
    const auto live_part = staged(gw, ".part");

    // Meanwhile a replica dies with an upload staged.
    {
        Doomed doomed{gw, "submit.staged"};
        doomed.send_and_die("/jobs/submit", form_with_pdfs(1, "dead"));
    }
    CHECK(staged(gw, ".part").size() == 2);
    // The dead one's staged file goes; the live one's stays, every sweep long.
    CHECK(eventually([&] { return staged(gw, ".part").size() == 1; }, within_recovery));
    CHECK(staged(gw, ".part") == live_part);
    CHECK(eventually([&] { return staged(gw, ".alive").size() == 2; }, within_recovery));

    slow.send(body.substr(body.size() - 1000));
    const auto reply = slow.read_reply();
    CHECK(reply.result_int() == 202);
    CHECK(gw.hot_count() == 1);
    CHECK(gw.take_messages().size() == 1);
}

TEST_CASE(
    "a shutdown with an upload still stalled at the end of the grace period leaves nothing on the volume") {
    Gateway gw{[](cvgate::app::Config& c) { c.shutdown_grace = std::chrono::seconds{1}; }};
    const auto form = big_form("stalled");
    const std::string body = form.body();
    Client stalled{gw.port(), 60s};
    stalled.send("POST /jobs/submit HTTP/1.1\r\nHost: cvgate.test\r\nContent-Type: " +
                 Multipart::content_type() + "\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\n\r\n" + body.substr(0, body.size() - 1000));
    REQUIRE(eventually([&] { return staged(gw, ".part").size() == 1; }));

    gw.stop();  // what SIGTERM does (apps/cvgate/main.cpp)
    CHECK(staged(gw, ".part").empty());
    CHECK(staged(gw, ".intent").empty());
    CHECK(staged(gw, ".alive").empty());
    CHECK(job_dirs(gw).empty());
    CHECK(gw.hot_count() == 0);
    CHECK(gw.take_messages().empty());
}
