#include <cvgate/app/logging.hpp>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

using namespace cvgate::app;

namespace {

// Everything the logger wrote to a pipe, one entry per line.
std::vector<std::string> lines_of(const std::function<void(Logger&)>& body,
                                  LogFormat format = LogFormat::json) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    {
        Logger logger{LogLevel::info, format, fds[1]};
        body(logger);
        logger.flush();
    }
    ::close(fds[1]);
    std::string all;
    char buf[4096];
    while (true) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        all.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    std::vector<std::string> out;
    for (std::size_t start = 0, nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1)
        out.push_back(all.substr(start, nl - start));
    return out;
}

}  // namespace

TEST_CASE("a JSON log line is one valid object with every field, whatever the strings hold", "[logging]") {
    auto lines = lines_of([](Logger& log) {
        log.info("request", {{"method", "GET"},
                             {"path", "/a\"b\\c\n\x01"},
                             {"status", 200u},
                             {"duration_ms", 1.5},
                             {"ok", true},
                             {"bad_utf8", "\xff\xfe ok \xc3\xa9"}});
    });
    REQUIRE(lines.size() == 1);
    auto v = boost::json::parse(lines[0]).as_object();
    CHECK(v.at("msg") == "request");
    CHECK(v.at("level") == "info");
    CHECK(v.at("path") == "/a\"b\\c\n\x01");
    CHECK(v.at("status") == 200);
    CHECK(v.at("duration_ms") == 1.5);
    CHECK(v.at("ok") == true);
    CHECK(v.at("bad_utf8") == "\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
    CHECK(v.at("ts").as_string().size() == 24);
}

TEST_CASE("lines below the level are dropped; text format stays one line per event", "[logging]") {
    auto lines = lines_of(
        [](Logger& log) {
            log.debug("hidden");
            log.warning("shown", {{"k", "two\nlines"}});
        },
        LogFormat::text);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::Contains("warning shown k=two\\u000alines"));
}

TEST_CASE("a duration in a log line reads 3.19, not 3.194668E0", "[logging]") {
    // Issue 9: doubles were written in full precision (and /readyz in Boost.JSON's 3.194668E0).
    auto json_lines = lines_of([](Logger& log) {
        log.info("request", {{"duration_ms", 3.194668}, {"small_ms", 0.0412345}, {"whole_ms", 12.0}});
    });
    REQUIRE(json_lines.size() == 1);
    CHECK_THAT(json_lines[0], Catch::Contains(R"("duration_ms":3.19,"small_ms":0.041,"whole_ms":12.0})"));
    CHECK(boost::json::parse(json_lines[0]).as_object().at("duration_ms") == 3.19);
    auto text_lines = lines_of(
        [](Logger& log) {
            log.info("request", {{"duration_ms", 3.194668}});
        },
        LogFormat::text);
    REQUIRE(text_lines.size() == 1);
    CHECK_THAT(text_lines[0], Catch::EndsWith(" request duration_ms=3.19"));
}

TEST_CASE("lines logged from several threads all arrive whole, each thread's in order, by flush()",
          "[logging]") {
    constexpr int threads = 4;
    constexpr int per_thread = 100;  // the helper reads the pipe only at the end: under its 64 KiB
    auto lines = lines_of([](Logger& log) {
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&log, t] {
                for (int i = 0; i < per_thread; ++i) log.info("line", {{"thread", t}, {"i", i}});
            });
        for (auto& w : workers) w.join();
    });
    REQUIRE(lines.size() == threads * per_thread);
    std::vector<std::int64_t> next(threads, 0);
    for (const auto& line : lines) {
        auto v = boost::json::parse(line).as_object();
        const auto t = v.at("thread").as_int64();
        CHECK(v.at("i").as_int64() == next[static_cast<std::size_t>(t)]++);
    }
}

TEST_CASE("a thread that logs to two loggers in turn gets each line to its own logger", "[logging]") {
    int a[2];
    int b[2];
    REQUIRE(::pipe(a) == 0);
    REQUIRE(::pipe(b) == 0);
    {
        Logger first{LogLevel::info, LogFormat::text, a[1]};
        Logger second{LogLevel::info, LogFormat::text, b[1]};
        for (int i = 0; i < 3; ++i) {
            first.info("to-first");
            second.info("to-second");
        }
    }
    ::close(a[1]);
    ::close(b[1]);
    auto drain = [](int fd) {
        std::string all;
        char buf[4096];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
        ::close(fd);
        return all;
    };
    const std::string one = drain(a[0]);
    const std::string two = drain(b[0]);
    CHECK(std::count(one.begin(), one.end(), '\n') == 3);
    CHECK(one.find("to-second") == std::string::npos);
    CHECK(std::count(two.begin(), two.end(), '\n') == 3);
    CHECK(two.find("to-first") == std::string::npos);
}

TEST_CASE("a string is escaped the same wherever its special bytes fall, word boundaries included",
          "[logging]") {
    // The byte-at-a-time escaping the 8-bytes-at-a-time one must equal.
    const auto reference = [](std::string_view text) {
        std::string out;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x20) {
                static constexpr char hex[] = "0123456789abcdef";
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else if (c == 0xc3 && i + 1 < text.size() && text[i + 1] == '\xa9') {
                out += "\xc3\xa9";  // the one valid sequence used below
                ++i;
            } else if (c >= 0x80) {
                out += "\\ufffd";
            } else {
                out += static_cast<char>(c);
            }
        }
        return out;
    };
    const std::vector<std::string> specials{
        "\"", "\\", std::string{"\x00", 1}, "\x01", "\x1f", "\n", "\x7f", "\xc3\xa9", "\xff", " ", "~"};
    for (std::size_t length = 0; length <= 40; ++length) {
        for (std::size_t at = 0; at <= length; ++at) {
            for (const auto& special : specials) {
                std::string text(length, 'a');
                text.insert(at, special);
                std::string out = "prefix:";
                append_json_escaped(out, text);
                INFO("length " << length << ", special byte(s) at " << at);
                REQUIRE(out == "prefix:" + reference(text));
            }
        }
    }
}
