// Dependencies that hang instead of refusing (CONTRACT.md, "Failure semantics"), end to end:
// the real FerretDB or RabbitMQ process is frozen with SIGSTOP while requests run, then
// resumed, and the stores are read directly afterwards. Before in-doubt calls were settled,
// a submit that timed out on a frozen broker was rolled back at once and its message reached
// the queue on resume (a job with no document and no files); before the bulkheads, requests
// that need only PostgreSQL timed out behind a frozen MongoDB, and /readyz blamed every
// dependency.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <cvgate/ids/uuid.hpp>

#include <catch2/catch.hpp>

#include <thread>

#include <sys/types.h>
#include <algorithm>
#include <csignal>
#include <fstream>
#include <future>
#include <string>

namespace {

namespace json = boost::json;
using namespace cvgate::test;
using namespace std::chrono_literals;

// One server of the fixture, frozen (SIGSTOP) for the scope; resumed whatever happens.
class Frozen {
public:
    explicit Frozen(const std::string& service) {
        std::ifstream in{stack_env().stack_dir + "/" + service + ".pid"};
        in >> pid_;
        REQUIRE(pid_ > 1);
        REQUIRE(::kill(pid_, SIGSTOP) == 0);
    }
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;
    ~Frozen() { resume(); }
    void resume() {
        if (pid_ > 1) ::kill(pid_, SIGCONT);
        pid_ = 0;
    }

private:
    pid_t pid_ = 0;
};

Multipart form_with_pdf(std::string_view label) {
    Multipart form;
    form.field("jd_text", job_description());
    form.file(std::string{label} + ".pdf", pdf_bytes(label), "application/pdf");
    return form;
}

// A short in-doubt limit: the settling is over within seconds of the resume.
void short_doubt(cvgate::app::Config& c) { c.in_doubt = std::chrono::seconds{8}; }

}  // namespace

TEST_CASE("a publish in doubt on a frozen broker is accepted late, everywhere, and a retry gets its 202",
          "[hang][rabbitmq]") {
    Gateway gw{short_doubt};
    gw.wait_ready();
    // A first submit declares the queue: the broker is frozen for the publish only.
    REQUIRE(gw.post_form("/jobs/submit", form_with_pdf("first")).status == 202);
    REQUIRE(gw.take_messages().size() == 1);
    const std::string key = "hang-" + cvgate::ids::uuid_v4();
    Answer first;
    {
        Frozen broker{"rabbitmq"};
        first = gw.post_form("/jobs/submit", form_with_pdf("late"), "Idempotency-Key: " + key + "\r\n");
    }  // resumed: the broker reads the publish it had buffered and confirms it
    INFO(first.raw.body());
    CHECK(first.status == 503);
    // The job is accepted late: its document, its file and exactly one message, all there.
    std::vector<QueuedMessage> messages;
    REQUIRE(eventually(
        [&] {
            auto more = gw.take_messages();
            messages.insert(messages.end(), more.begin(), more.end());
            return !messages.empty();
        },
        15s));
    REQUIRE(messages.size() == 1);
    const std::string job_id = str(messages[0].json.at("job_id"));
    REQUIRE(eventually([&] { return gw.hot(job_id).has_value(); }, 15s));
    std::this_thread::sleep_for(9s);  // past the in-doubt limit: nothing is rolled back any more
    CHECK(gw.hot(job_id).has_value());
    const auto files = gw.volume_tree();
    CHECK(std::find(files.begin(), files.end(), job_id) != files.end());
    // The retry gets the late 202, and creates nothing.
    const Answer retry =
        gw.post_form("/jobs/submit", form_with_pdf("late"), "Idempotency-Key: " + key + "\r\n");
    INFO(retry.raw.body());
    REQUIRE(retry.status == 202);
    CHECK(str(retry.object().at("job_id")) == job_id);
    CHECK(gw.take_messages().empty());
    CHECK(gw.hot_count() == 2);
}

TEST_CASE("a submit whose insert hangs on a frozen MongoDB leaves nothing once it settled", "[hang][mongo]") {
    Gateway gw{short_doubt};
    gw.wait_ready();
    Answer answer;
    {
        Frozen hot{"mongo"};
        answer = gw.post_form("/jobs/submit", form_with_pdf("frozen"));
        std::this_thread::sleep_for(1s);
    }  // resumed: FerretDB may apply the insert it had read before it froze
    INFO(answer.raw.body());
    CHECK(answer.status == 503);
    std::this_thread::sleep_for(10s);  // the in-doubt limit (8 s) and its last look
    CHECK(gw.hot_count() == 0);
    CHECK(gw.take_messages().empty());
    CHECK(gw.volume_is_empty());
}

TEST_CASE(
    "requests that need only PostgreSQL keep their latency while MongoDB hangs; /readyz names MongoDB only",
    "[hang][bulkhead]") {
    Gateway gw;
    gw.wait_ready();
    Frozen hot{"mongo"};
    // Sixteen status requests hang on the frozen hot storage...
    std::vector<std::future<Answer>> stuck;
    for (int i = 0; i < 16; ++i)
        stuck.push_back(std::async(std::launch::async,
                                   [&gw] { return gw.get("/jobs/" + cvgate::ids::uuid_v4() + "/status"); }));
    std::this_thread::sleep_for(500ms);
    // ...while results (cold storage only) answer at once.
    const auto start = std::chrono::steady_clock::now();
    const Answer results = gw.get("/jobs/" + cvgate::ids::uuid_v4() + "/results");
    const auto took = std::chrono::steady_clock::now() - start;
    INFO(results.raw.body());
    CHECK(results.status == 404);  // PostgreSQL answered: no such job
    CHECK(took < 2s);

    const Answer ready = gw.get("/readyz");
    INFO(ready.raw.body());
    CHECK(ready.status == 503);
    const auto& checks = ready.object().at("checks").as_object();
    CHECK(checks.at("mongodb").as_object().at("status").as_string() == "timeout");
    for (const char* other : {"postgresql", "rabbitmq", "volume"})
        CHECK(checks.at(other).as_object().at("status").as_string() == "ok");
    hot.resume();
    for (auto& s : stuck) CHECK(s.get().status != 0);
    gw.wait_ready(20s);
}
