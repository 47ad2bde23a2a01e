// Multipart parser throughput next to memchr over the same bytes: the parser's data path
// should stay within a small factor of the fastest possible scan. Prints numbers; never
// passes or fails.
//
// usage: multipart_bench [body MiB, default 100] [repetitions, default 10]

#include "cvgate/http/multipart.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace mp = cvgate::http::multipart;
using Clock = std::chrono::steady_clock;

constexpr std::string_view boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
// memchr looks for a byte that the body never holds, so that it scans all of it;
// the random file bytes are drawn without it.
constexpr char absent = '\xA7';

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// A form like the ones cvgate receives: a job description and a few "PDFs", whose
// bytes are random because compressed PDF streams look random.
std::string make_body(std::size_t total, std::size_t& content_bytes) {
    std::string body;
    body.reserve(total + 4096);
    const std::string open = "--" + std::string(boundary) + "\r\n";
    const std::string jd(2000, 'j');
    body += open;
    body += "Content-Disposition: form-data; name=\"jd_text\"\r\n\r\n";
    body += jd;
    content_bytes = jd.size();

    constexpr int files = 3;
    std::uint64_t rng = 42;
    for (int f = 0; f < files; ++f) {
        body += "\r\n" + open;
        body += "Content-Disposition: form-data; name=\"files\"; filename=\"cv" + std::to_string(f) +
                ".pdf\"\r\nContent-Type: application/pdf\r\n\r\n";
        const std::size_t size = total / files - 200;
        const std::size_t start = body.size();
        body += "%PDF-1.7\n";
        while (body.size() - start < size) {
            std::uint64_t r = splitmix64(rng);
            for (int i = 0; i < 8 && body.size() - start < size; ++i, r >>= 8) {
                const auto c = static_cast<char>(r & 0xFF);
                body.push_back(c == absent ? '\0' : c);
            }
        }
        content_bytes += body.size() - start;
    }
    body += "\r\n--" + std::string(boundary) + "--\r\n";
    return body;
}

struct Parsed {
    std::size_t parts = 0;
    std::size_t bytes = 0;
    bool done = false;
};

Parsed parse(std::string_view body, std::size_t chunk_size) {
    mp::Parser parser{std::string(boundary)};
    Parsed out;
    std::size_t at = 0;
    for (;;) {
        switch (parser.next()) {
            case mp::Parser::Event::need_more:
                if (at == body.size()) {
                    parser.finish();
                } else {
                    const std::size_t n = std::min(chunk_size, body.size() - at);
                    parser.feed(body.substr(at, n));
                    at += n;
                }
                break;
            case mp::Parser::Event::part_begin:
                ++out.parts;
                break;
            case mp::Parser::Event::part_data:
                out.bytes += parser.data().size();
                break;
            case mp::Parser::Event::part_end:
                break;
            case mp::Parser::Event::done:
                out.done = true;
                return out;
            case mp::Parser::Event::error:
                std::fprintf(stderr, "parse error: %s\n", std::string(mp::describe(parser.error())).c_str());
                return out;
        }
    }
}

struct Timing {
    double best = 0;
    double median = 0;
};

// Best and median seconds; the best is the least disturbed by a shared machine.
template <class F>
Timing time_it(int reps, F&& f) {
    std::vector<double> seconds;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = Clock::now();
        f();
        seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return {seconds.front(), seconds[seconds.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 10;
    if (mib == 0 || reps <= 0) {
        std::fprintf(stderr, "usage: %s [body MiB] [repetitions]\n", argv[0]);
        return 2;
    }

    std::size_t content_bytes = 0;
    const std::string body = make_body(mib << 20, content_bytes);
    const std::string_view view = body;

    const Parsed check = parse(view, 64 * 1024);
    if (!check.done || check.parts != 4 || check.bytes != content_bytes) {
        std::fprintf(stderr, "parser check failed: done=%d parts=%zu bytes=%zu expected=%zu\n", check.done,
                     check.parts, check.bytes, content_bytes);
    }
    if (std::memchr(body.data(), absent, body.size()) != nullptr) {
        std::fprintf(stderr, "the memchr target byte is in the body: its figure is wrong\n");
    }

    volatile std::size_t sink = 0;  // keeps the optimiser from dropping the work
    const Timing scan =
        time_it(reps, [&] { sink = sink + (std::memchr(body.data(), absent, body.size()) != nullptr); });
    const Timing chunked = time_it(reps, [&] { sink = sink + parse(view, 64 * 1024).bytes; });
    const Timing whole = time_it(reps, [&] { sink = sink + parse(view, view.size()).bytes; });

    const double gb = static_cast<double>(body.size()) / 1e9;
    std::printf("body: %.1f MiB (%zu bytes), 3 random-byte files + 1 text field, %d runs each\n",
                static_cast<double>(body.size()) / (1 << 20), body.size(), reps);
    std::printf("%-28s %10s %10s %14s\n", "", "best GB/s", "median", "best/memchr");
    const auto row = [&](const char* name, Timing t) {
        std::printf("%-28s %10.2f %10.2f %13.0f%%\n", name, gb / t.best, gb / t.median,
                    100.0 * scan.best / t.best);
    };
    row("memchr (absent byte)", scan);
    row("parser, 64 KiB chunks", chunked);
    row("parser, one chunk", whole);
    return 0;
}
