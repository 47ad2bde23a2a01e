#include <cvgate/app/logging.hpp>

#include <cvgate/text/json_number.hpp>
#include <cvgate/text/utf8.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace cvgate::app {
namespace {

// "2025-11-17T10:30:00.123Z"; the part up to the seconds is formatted once per second.
void append_timestamp(std::string& out) {
    thread_local std::time_t cached_second = -1;
    thread_local char cached[24];
    thread_local std::size_t cached_length = 0;
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    if (secs != cached_second) {
        std::tm tm{};
        gmtime_r(&secs, &tm);
        cached_length = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_second = secs;
    }
    out.append(cached, cached_length);
    const char ms[5] = {'.', static_cast<char>('0' + millis / 100), static_cast<char>('0' + millis / 10 % 10),
                        static_cast<char>('0' + millis % 10), 'Z'};
    out.append(ms, sizeof ms);
}

// Gives every logger an id of its own: a thread's cached shard is never another logger's,
// even one built where a destroyed one lived.
std::atomic<std::uint64_t> next_logger_id{1};

// How long lines may wait in a shard before the writer collects them, and how full a shard
// gets before its thread wakes the writer early.
constexpr auto collect_interval = std::chrono::milliseconds{20};
constexpr std::size_t wake_threshold = 256 * 1024;

template <typename T>
void append_number(std::string& out, T value) {
    if constexpr (std::is_floating_point_v<T>) {
        text::append_json_number(out, text::readable(value));  // a double logged is a measurement
    } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
        out.append(buf, end);
    }
}

// Bytes a JSON string can hold as they are: printable ASCII but '"' and '\\'.
bool plain_byte(unsigned char b) noexcept { return b >= 0x20 && b < 0x80 && b != '"' && b != '\\'; }

// Whether any of a word's 8 bytes is not plain: below 0x20, from 0x80, '"' or '\\' (the
// "has zero byte" and "has byte less than" tests of the bit-twiddling folklore; exact for the
// word as a whole, which is all that is asked).
bool word_has_special(std::uint64_t w) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((w - ones * 0x20) & ~w) | w | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) & highs;
}

// The length of the longest prefix of plain bytes, 8 at a time while it lasts.
std::size_t plain_prefix(std::string_view text) noexcept {
    std::size_t n = 0;
    for (std::uint64_t w; n + 8 <= text.size(); n += 8) {
        std::memcpy(&w, text.data() + n, 8);
        if (word_has_special(w)) break;
    }
    while (n < text.size() && plain_byte(static_cast<unsigned char>(text[n]))) ++n;
    return n;
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    while (!text.empty()) {
        // The common case, printable ASCII with nothing to escape, is appended a run at a time:
        // byte by byte, this function was the largest user-space cost of an access log line.
        const std::size_t plain = plain_prefix(text);
        out.append(text.data(), plain);
        text.remove_prefix(plain);
        if (text.empty()) break;
        const auto c = static_cast<unsigned char>(text[0]);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c < 0x20) {
            out += "\\u00";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else if (c >= 0x80) {
            const std::size_t n = text::utf8_sequence_length(text);
            if (n == 0) {
                out += "\\ufffd";
                text.remove_prefix(1);
                continue;
            }
            out.append(text.substr(0, n));
            text.remove_prefix(n);
            continue;
        }
        text.remove_prefix(1);
    }
}

struct Logger::Shard {
    std::thread::id owner;
    std::mutex mutex;  // taken by its thread per line and by the writer per collection
    std::string lines;
};

Logger::Logger(LogLevel level, LogFormat format, int fd, std::size_t max_pending_bytes)
    : level_{level},
      format_{format},
      fd_{fd},
      max_pending_{max_pending_bytes},
      id_{next_logger_id.fetch_add(1, std::memory_order_relaxed)},
      writer_{[this] { writer_loop(); }} {}

Logger::~Logger() {
    {
        std::lock_guard lock{mutex_};
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

Logger::Shard& Logger::shard() {
    thread_local std::uint64_t cached_id = 0;
    thread_local Shard* cached = nullptr;
    if (cached_id == id_) return *cached;
    // A thread that logs to several loggers in turn finds its shard again.
    std::lock_guard lock{mutex_};
    const auto me = std::this_thread::get_id();
    auto it = std::find_if(shards_.begin(), shards_.end(), [&](const auto& s) { return s->owner == me; });
    if (it == shards_.end()) {
        shards_.push_back(std::make_unique<Shard>());
        shards_.back()->owner = me;
        it = std::prev(shards_.end());
    }
    cached = it->get();
    cached_id = id_;
    return *cached;
}

void Logger::format_line(std::string& out, LogLevel level, std::string_view message,
                         std::span<const LogField> fields) const {
    if (format_ == LogFormat::json) {
        out += "{\"ts\":\"";
        append_timestamp(out);
        out += "\",\"level\":\"";
        out += to_string(level);
        out += "\",\"msg\":\"";
        append_json_escaped(out, message);
        out += '"';
        for (const auto& f : fields) {
            out += ",\"";
            append_json_escaped(out, f.key);
            out += "\":";
            std::visit(
                [&out](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::string_view>) {
                        out += '"';
                        append_json_escaped(out, v);
                        out += '"';
                    } else if constexpr (std::is_same_v<T, bool>) {
                        out += v ? "true" : "false";
                    } else {
                        append_number(out, v);
                    }
                },
                f.value);
        }
        out += "}\n";
        return;
    }
    append_timestamp(out);
    out += ' ';
    out += to_string(level);
    out += ' ';
    out += message;
    for (const auto& f : fields) {
        out += ' ';
        out += f.key;
        out += '=';
        std::visit(
            [&out](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string_view>) {
                    append_json_escaped(out, v);  // keeps the line a single line
                } else if constexpr (std::is_same_v<T, bool>) {
                    out += v ? "true" : "false";
                } else {
                    append_number(out, v);
                }
            },
            f.value);
    }
    out += '\n';
}

void Logger::log_fields(LogLevel level, std::string_view message, std::span<const LogField> fields) {
    if (!enabled(level)) return;
    Shard& own = shard();
    bool wake = false;
    {
        std::lock_guard lock{own.mutex};
        const std::size_t before = own.lines.size();
        format_line(own.lines, level, message, fields);
        const std::size_t added = own.lines.size() - before;
        if (pending_bytes_.fetch_add(added, std::memory_order_relaxed) + added > max_pending_) {
            pending_bytes_.fetch_sub(added, std::memory_order_relaxed);
            own.lines.resize(before);
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        wake = before < wake_threshold && own.lines.size() >= wake_threshold;
    }
    if (wake) {
        std::lock_guard lock{mutex_};
        shard_full_ = true;
        wake_.notify_one();
    }
}

void Logger::flush() {
    std::unique_lock lock{mutex_};
    const std::uint64_t target = ++flush_requests_;
    wake_.notify_one();
    flushed_.wait(lock, [&] { return flushes_done_ >= target; });
}

// Every collect_interval (sooner when a shard fills up or someone flushes): takes each
// shard's lines and writes them. A flush is done once a collection that began after it
// has been written.
void Logger::writer_loop() {
    std::string batch;
    std::unique_lock lock{mutex_};
    for (;;) {
        const std::uint64_t requests = flush_requests_;
        const bool stopping = stopping_;
        shard_full_ = false;
        batch.clear();
        for (auto& s : shards_) {
            std::lock_guard shard_lock{s->mutex};
            batch += s->lines;
            s->lines.clear();
            if (s->lines.capacity() > wake_threshold * 4) s->lines.shrink_to_fit();  // after a burst
        }
        lock.unlock();
        pending_bytes_.fetch_sub(batch.size(), std::memory_order_relaxed);
        std::string_view rest = batch;
        while (!rest.empty()) {
            const ssize_t n = ::write(fd_, rest.data(), rest.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // nowhere to write: drop rather than spin
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        if (batch.capacity() > (1u << 20)) std::string{}.swap(batch);  // a burst's buffer goes back
        lock.lock();
        flushes_done_ = requests;
        flushed_.notify_all();
        if (stopping) return;
        wake_.wait_for(lock, collect_interval,
                       [&] { return stopping_ || shard_full_ || flush_requests_ != requests; });
    }
}

}  // namespace cvgate::app
