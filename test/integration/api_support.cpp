#include "integration/api_support.hpp"

#include "integration/stack_support.hpp"

#include <cvgate/clients/postgres/connection.hpp>
#include <cvgate/clients/postgres/transaction.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace cvgate::test {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace pg = clients::postgres;
using namespace std::chrono_literals;

// ---- Uploads -------------------------------------------------------------------------

std::string pdf_bytes(std::string_view label) {
    std::string pdf = "%PDF-1.4\n";
    pdf += "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n";
    pdf += "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n";
    pdf += "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n";
    pdf += "% ";
    pdf += label;
    pdf += "\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    return pdf;
}

const std::string& docx_bytes() {
    static const std::string bytes = [] {
        const std::string path = "/tmp/cvgate-api-test-" + std::to_string(::getpid()) + ".docx";
        shell("python3 - '" + path + R"(' <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Jane Roe, C++ engineer</w:t></w:r></w:p></w:body></w:document>')
EOF)");
        std::string b = read_file(path);
        fs::remove(path);
        return b;
    }();
    return bytes;
}

// One part: "--boundary", Content-Disposition: form-data; <params>, an optional Content-Type,
// the bytes.
void Multipart::part(std::string_view disposition_params, std::string_view content_type,
                     std::string_view bytes) {
    parts_ += "--";
    parts_ += boundary;
    parts_ += "\r\nContent-Disposition: form-data; ";
    parts_ += disposition_params;
    if (!content_type.empty()) {
        parts_ += "\r\nContent-Type: ";
        parts_ += content_type;
    }
    parts_ += "\r\n\r\n";
    parts_ += bytes;
    parts_ += "\r\n";
}

Multipart& Multipart::field(std::string_view name, std::string_view value) {
    part("name=\"" + std::string{name} + "\"", {}, value);
    return *this;
}

Multipart& Multipart::file(std::string_view filename, std::string_view bytes, std::string_view content_type) {
    part("name=\"files\"; filename=\"" + std::string{filename} + "\"", content_type, bytes);
    return *this;
}

Multipart& Multipart::file_with_disposition(std::string_view disposition_params, std::string_view bytes) {
    part("name=\"files\"; " + std::string{disposition_params}, "application/pdf", bytes);
    return *this;
}

std::string Multipart::body() const { return parts_ + "--" + std::string{boundary} + "--\r\n"; }

std::string Multipart::content_type() { return "multipart/form-data; boundary=" + std::string{boundary}; }

std::string job_description() {
    return "Senior C++ engineer for a CV screening pipeline: Boost.Asio, PostgreSQL, MongoDB, "
           "RabbitMQ. Café-friendly team in Zürich, 日本語 welcome.";
}

// ---- HTTP ----------------------------------------------------------------------------

std::string Answer::header(std::string_view name) const {
    auto it = raw.find(name);
    return it == raw.end() ? std::string{} : std::string{it->value()};
}

const json::object& Answer::object() const {
    INFO("status " << status << ", body: " << raw.body());
    REQUIRE(json.is_object());
    return json.get_object();
}

Answer send_request(std::uint16_t port, std::string_view method, std::string_view target,
                    std::string_view headers, std::string_view body) {
    std::string request{method};
    request += " ";
    request += target;
    request += " HTTP/1.1\r\nHost: cvgate.test\r\n";
    request += headers;
    const bool chunked = headers.find("Transfer-Encoding") != std::string_view::npos;
    if (!chunked && (!body.empty() || method == "POST"))
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    request += "\r\n";
    request += body;

    Client client{port, 30s};
    client.send(request);
    Answer a;
    a.raw = client.read_reply(method == "HEAD");
    a.status = a.raw.result_int();
    boost::system::error_code ec;
    a.json = json::parse(a.raw.body(), ec);
    if (ec) a.json = nullptr;
    return a;
}

// ---- JSON ----------------------------------------------------------------------------

std::set<std::string> keys_of(const json::object& o) {
    std::set<std::string> keys;
    for (const auto& kv : o) keys.insert(std::string{kv.key()});
    return keys;
}

std::string str(const json::value& v) {
    INFO("expected a string, got " << json::serialize(v));
    REQUIRE(v.is_string());
    return std::string{v.get_string()};
}

bool matches(const std::string& text, const std::string& regex) {
    return std::regex_search(text, std::regex{regex});
}

// ---- Files ---------------------------------------------------------------------------

std::vector<std::string> tree(const std::string& root) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator{root, ec};
         !ec && it != fs::recursive_directory_iterator{}; it.increment(ec)) {
        if (it->path().extension() == ".alive") continue;             // a replica's heartbeat, not an upload
        out.push_back(it->path().lexically_relative(root).string());  // a file may vanish meanwhile
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error{"cannot read " + path};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

// ---- The queue -----------------------------------------------------------------------

namespace {

std::string unique_suffix() {
    static std::atomic<int> counter{0};
    return std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1'000'000);
}

pg::Deadline in(std::chrono::milliseconds ms) { return pg::Deadline::after(ms); }

}  // namespace

// ---- Gateway -------------------------------------------------------------------------

Gateway::Gateway(const Tweak& tweak) {
    const auto suffix = unique_suffix();
    dir_ = "/tmp/cvgate-api-test-" + suffix;
    fs::create_directories(dir_);

    config_.server.address = "127.0.0.1";
    config_.server.port = 0;
    config_.upload_volume_path = dir_ + "/volume";
    config_.mongo.url = stack_env().mongo_url;
    config_.mongo.database = "cvgate_api_" + suffix;
    config_.postgres.connection.url = stack_env().database_url;
    config_.rabbitmq_url = stack_env().rabbitmq_url;
    config_.jobs_queue = "cvgate_api_jobs_" + suffix;
    config_.server.io_threads = 2;
    config_.blocking_threads = 4;
    config_.log_level = app::LogLevel::warning;
    config_.log_format = app::LogFormat::text;
    config_.shutdown_grace = std::chrono::seconds{2};
    if (tweak) tweak(config_);

    // The queue exists before cvgate starts, as when the pipeline's workers declared it.
    QueueInspector{"cvgate-api-test-inspector"}.declare(config_.jobs_queue);

    blocking_ = std::make_unique<exec::BlockingPool>(2);
    clients::mongo::Options mo;
    mo.url = config_.mongo.url;
    mo.database = config_.mongo.database;
    mo.server_selection_timeout = 2000ms;
    mo.connect_timeout = 2000ms;
    mo.socket_timeout = 5000ms;
    mo.call_timeout = 15000ms;
    mongo_ = std::make_unique<clients::mongo::Client>(mo, blocking_->executor());

    app_ = std::make_unique<app::Application>(config_, 2);
    app_->start();
    wait_ready();
}

Gateway::~Gateway() {
    try {
        app_->shutdown();
    } catch (...) {
    }
    try {
        run(mongo_->run_command({{"dropDatabase", 1}}));
    } catch (...) {
    }
    try {
        delete_queue();
    } catch (...) {
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

Answer Gateway::get(std::string_view target, std::string_view headers) const {
    return send_request(port(), "GET", target, headers);
}

Answer Gateway::post_form(std::string_view target, const Multipart& form, std::string_view headers) const {
    std::string h = "Content-Type: " + Multipart::content_type() + "\r\n";
    h += headers;
    return send_request(port(), "POST", target, h, form.body());
}

Answer Gateway::post(std::string_view target, std::string_view headers) const {
    return send_request(port(), "POST", target, headers);
}

Answer Gateway::del(std::string_view target) const { return send_request(port(), "DELETE", target); }

void Gateway::wait_ready(std::chrono::milliseconds limit) const {
    Answer last;
    const bool ready = eventually(
        [&] {
            last = get("/readyz");
            return last.status == 200;
        },
        limit);
    INFO("last /readyz: " << last.status << " " << last.raw.body());
    REQUIRE(ready);
}

std::optional<json::object> Gateway::hot(const std::string& job_id) const {
    json::object filter{{"_id", job_id}};
    return run(mongo_->find_one("jobs", std::move(filter)));
}

std::int64_t Gateway::hot_count() const {
    json::object command{{"count", "jobs"}};
    auto reply = run(mongo_->run_command(std::move(command)));
    const auto& n = reply.at("n");
    return n.is_int64() ? n.get_int64() : static_cast<std::int64_t>(n.to_number<double>());
}

bool Gateway::hot_matches(json::object filter) const {
    return run(mongo_->find_one("jobs", std::move(filter))).has_value();
}

void Gateway::push_result(const std::string& job_id, const json::object& analysis) const {
    json::object filter{{"_id", job_id}};
    json::object update{{"$push", json::object{{"results", analysis}}}};
    REQUIRE(run(mongo_->update_one("jobs", std::move(filter), std::move(update))).matched == 1);
}

void Gateway::push_error(const std::string& job_id, const json::object& error) const {
    json::object filter{{"_id", job_id}};
    json::object update{{"$push", json::object{{"errors", error}}}};
    REQUIRE(run(mongo_->update_one("jobs", std::move(filter), std::move(update))).matched == 1);
}

void Gateway::set_status(const std::string& job_id, std::string_view status) const {
    json::object filter{{"_id", job_id}};
    json::object update{{"$set", json::object{{"status", status}}}};
    REQUIRE(run(mongo_->update_one("jobs", std::move(filter), std::move(update))).matched == 1);
}

bool Gateway::hot_is_ferretdb() const {
    json::object command{{"buildInfo", 1}};
    return run(mongo_->run_command(std::move(command))).contains("ferretdbVersion");
}

void Gateway::insert_hot(const json::object& document) const { run(mongo_->insert_one("jobs", document)); }

std::vector<QueuedMessage> Gateway::take_messages() const {
    return QueueInspector{"cvgate-api-test-inspector"}.drain(config_.jobs_queue);
}

void Gateway::delete_queue() const {
    QueueInspector{"cvgate-api-test-inspector"}.delete_queue(config_.jobs_queue);
}

bool Gateway::volume_is_empty() const {
    return eventually([&] { return volume_tree() == std::vector<std::string>{".incoming"}; });
}

void Gateway::require_nothing_left() const {
    const bool empty = volume_is_empty();
    std::string held;
    for (const auto& p : volume_tree()) held += p + " ";
    INFO("volume holds: " << held);
    CHECK(empty);
    CHECK(hot_count() == 0);
    CHECK(take_messages().empty());
}

// ---- PostgreSQL ----------------------------------------------------------------------

std::int64_t pg_count(const std::string& sql, const pg::Params& params) {
    auto conn = pg::Connection::open({.url = stack_env().database_url, .application_name = "cvgate-api-test"},
                                     in(5s));
    return conn.query(sql, params, in(5s)).get<std::int64_t>(0, 0);
}

struct TableLock::Impl {
    explicit Impl(const std::string& table)
        : conn{pg::Connection::open({.url = stack_env().database_url, .application_name = "cvgate-api-test"},
                                    in(5s))} {
        tx.emplace(conn, in(60s));
        tx->query("LOCK TABLE " + table + " IN EXCLUSIVE MODE");
    }
    pg::Connection conn;
    std::optional<pg::Transaction> tx;
};

TableLock::TableLock(const std::string& table) : impl_{std::make_unique<Impl>(table)} {}

TableLock::~TableLock() {
    try {
        release();
    } catch (...) {
        // the session goes away with impl_, and the server rolls the transaction back
    }
}

void TableLock::release() {
    if (!impl_->tx) return;
    impl_->tx->commit();
    impl_->tx.reset();
}

std::int64_t sessions_waiting_on_lock(std::string_view prefix) {
    return pg_count(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cvgate' AND wait_event_type = "
        "'Lock' "
        "AND starts_with(ltrim(query), $1)",
        pg::Params{prefix});
}

// ---- Outages -------------------------------------------------------------------------

Outage::Outage(std::string service) : service_{std::move(service)} {
    stack_ctl("stop " + service_);
    down_ = true;
}

Outage::~Outage() {
    try {
        end();
    } catch (const std::exception& e) {
        WARN("could not start " << service_ << " again: " << e.what());
    }
}

void Outage::end() {
    if (!down_) return;
    down_ = false;
    stack_ctl("start " + service_);
}

// ---- The requests most tests make ------------------------------------------------------

Multipart form_with_pdfs(int count, std::string_view label) {
    Multipart form;
    form.field("jd_text", job_description());
    for (int i = 0; i < count; ++i) {
        const std::string name = std::string{label} + std::to_string(i);
        form.file(name + ".pdf", pdf_bytes(name), "application/pdf");
    }
    return form;
}

std::string accepted(const Answer& a) {
    INFO("status " << a.status << ": " << a.raw.body());
    REQUIRE(a.status == 202);
    return str(a.object().at("job_id"));
}

std::string prefix_of(const std::string& job_id) { return job_id.substr(0, 8); }

std::string sync_path(const std::string& job_id) { return "/jobs/" + job_id + "/sync"; }

json::value J(std::string_view text) { return json::parse(text); }

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

Gateway::Tweak replica_of(const Gateway& first) {
    const auto shared = first.config();
    return [shared](app::Config& c) {
        c.upload_volume_path = shared.upload_volume_path;
        c.mongo.database = shared.mongo.database;
        c.jobs_queue = shared.jobs_queue;
    };
}

}  // namespace cvgate::test
