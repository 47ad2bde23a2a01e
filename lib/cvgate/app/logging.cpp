#include <cvgate/app/logging.hpp>

#include <cvgate/text/json_number.hpp>
#include <cvgate/text/utf8.hpp>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>

namespace cvgate::app {
namespace {

std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warning:
            return "warning";
        case LogLevel::error:
            return "error";
    }
    return "info";
}

void append_timestamp(std::string& out) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    out.append(buf, n);
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(millis));
    out += ms;
}

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

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    while (!text.empty()) {
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
        } else {
            out.push_back(static_cast<char>(c));
        }
        text.remove_prefix(1);
    }
}

Logger::Logger(LogLevel level, LogFormat format, int fd, std::size_t max_pending_bytes)
    : level_{level}, format_{format}, fd_{fd}, max_pending_{max_pending_bytes}, writer_{[this] {
          writer_loop();
      }} {}

Logger::~Logger() {
    {
        std::lock_guard lock{mutex_};
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

void Logger::format_line(std::string& out, LogLevel level, std::string_view message,
                         std::initializer_list<LogField> fields) const {
    if (format_ == LogFormat::json) {
        out += "{\"ts\":\"";
        append_timestamp(out);
        out += "\",\"level\":\"";
        out += level_name(level);
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
    out += level_name(level);
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

void Logger::log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
    if (!enabled(level)) return;
    thread_local std::string line;
    line.clear();
    format_line(line, level, message, fields);
    bool wake;
    {
        std::lock_guard lock{mutex_};
        if (pending_.size() + line.size() > max_pending_) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        wake = pending_.empty();
        pending_ += line;
        ++enqueued_;
    }
    if (wake) wake_.notify_one();
}

void Logger::flush() {
    std::unique_lock lock{mutex_};
    const std::uint64_t target = enqueued_;
    flushed_.wait(lock, [&] { return written_ >= target; });
}

void Logger::writer_loop() {
    std::string batch;
    std::unique_lock lock{mutex_};
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty() && stopping_) return;
        batch.swap(pending_);
        const std::uint64_t lines = enqueued_;
        lock.unlock();
        std::string_view rest = batch;
        while (!rest.empty()) {
            const ssize_t n = ::write(fd_, rest.data(), rest.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // nowhere to write: drop rather than spin
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        batch.clear();
        lock.lock();
        written_ = lines;
        flushed_.notify_all();
    }
}

}  // namespace cvgate::app
