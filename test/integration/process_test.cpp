// The real cvgate binary, as an orchestrator runs it: started with its environment, stopped
// with SIGTERM. Whatever it or the C drivers inside it write goes to stdout and stderr as one
// JSON object per line, so a log shipper never meets a line it cannot parse.

#include "integration/api_support.hpp"
#include "integration/stack_support.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace cvgate::test;
using namespace std::chrono_literals;

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// cvgate started as a child process, its stdout and stderr in files; killed if still running
// when the test ends.
class Process {
public:
    Process(const std::vector<std::string>& env, const std::string& out, const std::string& err) {
        std::vector<char*> envp;
        for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        char* argv[] = {const_cast<char*>(CVGATE_BINARY), nullptr};
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0) ::_exit(127);
            ::execve(CVGATE_BINARY, argv, envp.data());
            ::_exit(127);
        }
    }
    ~Process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    // Waits for the exit; its status as waitpid() gives it.
    int wait() {
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        out.push_back(text.substr(start, nl - start));
    if (start < text.size()) out.push_back(text.substr(start));  // an unterminated last line
    return out;
}

}  // namespace

TEST_CASE(
    "the cvgate binary writes only JSON objects, one per line, on stdout and stderr (its own lines, "
    "readiness failures, and the mongo driver's, at shutdown included)") {
    // Issue 9: mongo-c-driver wrote `Couldn't send "endSessions"` to stderr as plain text at
    // shutdown, after cvgate had taken its log sink away.
    const std::string suffix = std::to_string(::getpid());
    const std::string dir = "/tmp/cvgate-process-test-" + suffix;
    fs::create_directories(dir + "/volume");
    const std::uint16_t port = free_port();
    const std::string queue = "cvgate_process_jobs_" + suffix;
    QueueInspector{"cvgate-process-test-inspector"}.declare(queue);
    const std::vector<std::string> env{
        "PATH=/usr/bin:/bin",
        "LISTEN_ADDR=127.0.0.1",
        "PORT=" + std::to_string(port),
        "UPLOAD_VOLUME_PATH=" + dir + "/volume",
        "MONGO_URL=" + stack_env().mongo_url,
        "MONGO_DB_NAME=cvgate_process_" + suffix,
        "DATABASE_URL=" + stack_env().database_url,
        "RABBITMQ_URL=" + stack_env().rabbitmq_url,
        "JOBS_QUEUE=" + queue,
        "IO_THREADS=1",
        "BLOCKING_THREADS=4",
        "SHUTDOWN_GRACE_SECONDS=2",
        "LOG_LEVEL=info",
        "LOG_FORMAT=json",
    };
    const std::string out_path = dir + "/stdout";
    const std::string err_path = dir + "/stderr";
    {
        Process cvgate{env, out_path, err_path};
        REQUIRE(eventually(
            [&] {
                try {
                    return send_request(port, "GET", "/readyz").status == 200;
                } catch (...) {
                    return false;
                }
            },
            60s));
        // MongoDB work, so that the driver has sessions to end at shutdown.
        Multipart form;
        form.field("jd_text", job_description()).field("use_delay", "false").file("cv.pdf", pdf_bytes("p"));
        const auto submitted = send_request(
            port, "POST", "/jobs/submit", "Content-Type: " + Multipart::content_type() + "\r\n", form.body());
        CHECK(submitted.status == 202);
        {
            Outage mongo{"mongo"};
            CHECK(send_request(port, "GET", "/readyz").status == 503);
        }
        // Stopped with MongoDB back: the driver ends its sessions at shutdown (FerretDB answers
        // that it has no endSessions command, and the driver logs a warning about it).
        CHECK(eventually([&] { return send_request(port, "GET", "/readyz").status == 200; }, 60s));
        REQUIRE(::kill(cvgate.pid(), SIGTERM) == 0);
        const int status = cvgate.wait();
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    const std::string out = read_file(out_path);
    const std::string err = read_file(err_path);
    INFO("cvgate's stdout and stderr: " << out_path << ", " << err_path);
    bool listening = false, stopped = false, readiness_failed = false;

    for (const auto* stream : {&out, &err}) {
        for (const std::string& line : lines_of(*stream)) {
            INFO(line);
            boost::system::error_code ec;
            const auto v = boost::json::parse(line, ec);
            REQUIRE_FALSE(ec);
            REQUIRE(v.is_object());
            const auto& o = v.as_object();
            REQUIRE(o.contains("msg"));
            const std::string msg{o.at("msg").as_string()};
            listening = listening || msg == "listening";
            stopped = stopped || msg == "stopped";
            if (msg == "readiness check failed" && o.at("check") == "mongodb") {
                readiness_failed = true;
                // The log keeps what the answer leaves out.
                CHECK_FALSE(o.at("error").as_string().empty());
            }
            if (line.find("endSessions") != std::string::npos) CHECK(msg == "mongo driver");
        }
    }
    CHECK(listening);
    CHECK(stopped);
    CHECK(readiness_failed);
    try {
        QueueInspector{"cvgate-process-test-inspector"}.delete_queue(queue);
    } catch (...) {
    }
    if (!std::getenv("CVGATE_KEEP_TEST_DIR")) fs::remove_all(dir);
}
