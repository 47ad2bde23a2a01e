#pragma once
// Structured logs: one JSON object (or one text line) per event. Each thread formats its
// lines into a buffer of its own; a background thread collects and writes them, so an I/O
// thread never waits on stdout, nor on another thread, nor wakes anyone per line.

#include <cvgate/app/config.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

namespace cvgate::app {

struct LogField {
    using Value = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
    template <typename S>
    requires std::is_convertible_v<const S&, std::string_view> LogField(std::string_view k, const S& v)
        : key{k}, value{std::string_view{v}} {}
    LogField(std::string_view k, int v) : key{k}, value{static_cast<std::int64_t>(v)} {}
    LogField(std::string_view k, unsigned v) : key{k}, value{static_cast<std::uint64_t>(v)} {}
    LogField(std::string_view k, long v) : key{k}, value{static_cast<std::int64_t>(v)} {}
    LogField(std::string_view k, unsigned long v) : key{k}, value{static_cast<std::uint64_t>(v)} {}
    LogField(std::string_view k, long long v) : key{k}, value{static_cast<std::int64_t>(v)} {}
    LogField(std::string_view k, unsigned long long v) : key{k}, value{static_cast<std::uint64_t>(v)} {}
    LogField(std::string_view k, double v)
        : key{k}, value{v} {}  // a measurement: written as text::readable()
    LogField(std::string_view k, bool v) : key{k}, value{v} {}
    std::string_view key;
    Value value;
};

class Logger {
public:
    // Writes to `fd` (stdout by default). Lines beyond `max_pending_bytes` waiting to be
    // written are dropped and counted, never allowed to grow memory without bound.
    Logger(LogLevel level, LogFormat format, int fd = 1, std::size_t max_pending_bytes = 16u << 20);
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;
    ~Logger();  // writes what is queued

    bool enabled(LogLevel level) const noexcept { return level >= level_; }
    void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {}) {
        log_fields(level, message, std::span<const LogField>{fields.begin(), fields.size()});
    }
    // For lines whose fields are only known at run time (some present, some not).
    void log_fields(LogLevel level, std::string_view message, std::span<const LogField> fields);
    void debug(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::debug, m, f); }
    void info(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::info, m, f); }
    void warning(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::warning, m, f); }
    void error(std::string_view m, std::initializer_list<LogField> f = {}) { log(LogLevel::error, m, f); }

    // Blocks until everything queued so far is written.
    void flush();
    std::uint64_t dropped_lines() const noexcept { return dropped_.load(); }

private:
    struct Shard;  // one thread's lines waiting to be written
    Shard& shard();
    void format_line(std::string& out, LogLevel level, std::string_view message,
                     std::span<const LogField> fields) const;
    void writer_loop();

    LogLevel level_;
    LogFormat format_;
    int fd_;
    std::size_t max_pending_;
    std::uint64_t id_;  // tells this logger's shards apart in a thread's cache
    std::atomic<std::size_t> pending_bytes_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::mutex mutex_;  // shards_ and the writer's state below
    std::vector<std::unique_ptr<Shard>> shards_;
    std::condition_variable wake_;
    std::condition_variable flushed_;
    std::uint64_t flush_requests_ = 0;  // under mutex_
    std::uint64_t flushes_done_ = 0;    // under mutex_
    bool shard_full_ = false;           // under mutex_: a thread wants its lines collected now
    bool stopping_ = false;
    std::thread writer_;
};

// Appends `text` as the inside of a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, so that a log line is always valid JSON.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace cvgate::app
