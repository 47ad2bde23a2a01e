#include <cvgate/app/config.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <thread>

namespace cvgate::app {
namespace {

// One configurable value: its variable, its flag (derived from the variable), its default as
// shown in --help (written from the default's named constant), and how to store a text value
// into the Config.
struct Option {
    std::string_view env;
    std::string default_text;
    std::string_view meaning;
    void (*apply)(Config&, std::string_view name, std::string_view value);
};

std::string flag_of(std::string_view env) {
    std::string flag = "--";
    for (char c : env)
        flag.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return flag;
}

[[noreturn]] void bad(std::string_view name, std::string_view what, std::string_view value) {
    throw ConfigError{std::string{name} + ": " + std::string{what} + ", got '" + std::string{value} + "'"};
}

std::uint64_t parse_unsigned(std::string_view name, std::string_view value, std::uint64_t min,
                             std::uint64_t max) {
    std::uint64_t out = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc{} || end != value.data() + value.size() || out < min || out > max)
        bad(name, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max),
            value);
    return out;
}

// Bytes, with an optional binary suffix: 1048576, 1024K, 10M, 10MiB, 1G.
std::uint64_t parse_size(std::string_view name, std::string_view value) {
    std::string_view digits = value;
    std::uint64_t unit = 1;
    static const std::pair<std::string_view, std::uint64_t> suffixes[] = {
        {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"K", 1ull << 10},   {"M", 1ull << 20},   {"G", 1ull << 30}};
    for (const auto& [suffix, factor] : suffixes) {
        if (digits.size() > suffix.size() && digits.ends_with(suffix)) {
            digits.remove_suffix(suffix.size());
            unit = factor;
            break;
        }
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size() || n == 0 || n > (1ull << 40) / unit)
        bad(name, "expected a size in bytes (suffix K, M or G allowed), greater than 0", value);
    return n * unit;
}

// A size as MAX_FILE_SIZE takes it: 10M, 16K, 123.
std::string size_text(std::uint64_t bytes) {
    static const std::pair<char, std::uint64_t> units[] = {
        {'G', 1ull << 30}, {'M', 1ull << 20}, {'K', 1ull << 10}};
    for (const auto& [suffix, factor] : units)
        if (bytes != 0 && bytes % factor == 0) return std::to_string(bytes / factor) + suffix;
    return std::to_string(bytes);
}

template <typename Rep, typename Period>
std::string seconds_text(std::chrono::duration<Rep, Period> d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

template <typename Rep, typename Period>
std::string ms_text(std::chrono::duration<Rep, Period> d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::chrono::milliseconds parse_ms(std::string_view name, std::string_view value, std::uint64_t min) {
    return std::chrono::milliseconds{parse_unsigned(name, value, min, 3'600'000)};
}

std::string parse_url(std::string_view name, std::string_view value,
                      std::initializer_list<std::string_view> schemes) {
    for (auto scheme : schemes)
        if (value.starts_with(scheme) && value.size() > scheme.size()) return std::string{value};
    std::string expected = "expected a URL starting with";
    for (auto scheme : schemes) expected += " " + std::string{scheme};
    // The URL may hold a password: never echo it.
    throw ConfigError{std::string{name} + ": " + expected};
}

std::vector<std::string> parse_list(std::string_view value) {
    std::vector<std::string> out;
    while (!value.empty()) {
        auto comma = value.find(',');
        auto item = value.substr(0, comma);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return out;
}

std::string lower(std::string_view v) {
    std::string s{v};
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::size_t cores() { return std::max(1u, std::thread::hardware_concurrency()); }

// The parts DATABASE_URL and RABBITMQ_URL are built from when not given whole.
constexpr std::string_view default_postgres_host = "localhost";
constexpr std::uint16_t default_postgres_port = 5432;
constexpr std::string_view default_postgres_db = "kandidate";
constexpr std::string_view default_rabbitmq_host = "localhost";
constexpr std::uint16_t default_rabbitmq_port = 5672;
constexpr std::string_view default_rabbitmq_user = "guest";
constexpr std::string_view default_rabbitmq_pass = "guest";

// Each default is read from the options of what it configures, or from its named constant.
const std::vector<Option>& options() {
    static const http::ServerOptions server;
    static const clients::mongo::Options mongo;
    static const clients::postgres::PoolOptions postgres;
    static const clients::amqp::PublisherOptions rabbitmq;
    static const std::vector<Option> table = {
        {"LISTEN_ADDR", server.address, "IP address to listen on",
         [](Config& c, auto n, auto v) {
             boost::system::error_code ec;
             boost::asio::ip::make_address(std::string{v}, ec);
             if (ec) bad(n, "expected an IPv4 or IPv6 address", v);
             c.server.address = v;
         }},
        {"PORT", std::to_string(server.port), "TCP port to listen on",
         [](Config& c, auto n, auto v) {
             c.server.port = static_cast<std::uint16_t>(parse_unsigned(n, v, 0, 65535));
         }},
        {"UPLOAD_VOLUME_PATH", std::string{default_upload_volume_path},
         "shared volume the parser reads uploaded CVs from",
         [](Config& c, auto n, auto v) {
             if (v.empty() || v.front() != '/') bad(n, "expected an absolute path", v);
             c.upload_volume_path = v;
         }},
        {"MONGO_URL", mongo.url, "MongoDB (hot storage) connection URL",
         [](Config& c, auto n, auto v) {
             c.mongo.url = parse_url(n, v, {"mongodb://", "mongodb+srv://"});
         }},
        {"MONGO_DB_NAME", mongo.database, "MongoDB database holding the `jobs` collection",
         [](Config& c, auto n, auto v) {
             if (v.empty() || v.find_first_of("/\\. \"$") != std::string_view::npos)
                 bad(n, "expected a MongoDB database name", v);
             c.mongo.database = v;
         }},
        {"MONGO_SERVER_SELECTION_TIMEOUT_MS", ms_text(mongo.server_selection_timeout),
         "how long the MongoDB driver looks for a server before a call fails (unless the URL sets "
         "serverSelectionTimeoutMS)",
         [](Config& c, auto n, auto v) { c.mongo.server_selection_timeout = parse_ms(n, v, 1); }},
        {"MONGO_CONNECT_TIMEOUT_MS", ms_text(mongo.connect_timeout),
         "bound on one connection attempt to MongoDB (unless the URL sets connectTimeoutMS)",
         [](Config& c, auto n, auto v) { c.mongo.connect_timeout = parse_ms(n, v, 1); }},
        {"MONGO_SOCKET_TIMEOUT_MS", ms_text(mongo.socket_timeout),
         "longest wait for MongoDB's reply on a connection (unless the URL sets socketTimeoutMS)",
         [](Config& c, auto n, auto v) { c.mongo.socket_timeout = parse_ms(n, v, 1); }},
        {"MONGO_CALL_TIMEOUT_MS", ms_text(mongo.call_timeout),
         "longest a MongoDB call may take in all, waiting for a thread and a connection included",
         [](Config& c, auto n, auto v) { c.mongo.call_timeout = parse_ms(n, v, 1); }},
        {"DATABASE_URL", postgres.connection.url,
         "PostgreSQL (cold storage) URL; else built from POSTGRES_HOST/PORT/USER/PASSWORD/DB",
         [](Config& c, auto n, auto v) {
             c.postgres.connection.url = parse_url(n, v, {"postgresql://", "postgres://"});
         }},
        {"POSTGRES_CONNECT_TIMEOUT_MS", ms_text(postgres.connection.connect_timeout),
         "bound on one connection attempt to PostgreSQL",
         [](Config& c, auto n, auto v) { c.postgres.connection.connect_timeout = parse_ms(n, v, 1); }},
        {"POSTGRES_CALL_TIMEOUT_MS", ms_text(postgres.default_timeout),
         "longest a PostgreSQL call may take in all, waiting for a connection included",
         [](Config& c, auto n, auto v) { c.postgres.default_timeout = parse_ms(n, v, 1); }},
        {"POSTGRES_PING_TIMEOUT_MS", ms_text(postgres.ping_timeout),
         "longest readiness waits for PostgreSQL's answer to its probe",
         [](Config& c, auto n, auto v) { c.postgres.ping_timeout = parse_ms(n, v, 1); }},
        {"POSTGRES_CANCEL_GRACE_MS", ms_text(postgres.connection.cancel_grace),
         "after a call's deadline cancels its statement, how long PostgreSQL gets to acknowledge "
         "before the connection is dropped",
         [](Config& c, auto n, auto v) { c.postgres.connection.cancel_grace = parse_ms(n, v, 1); }},
        {"POSTGRES_STATEMENT_TIMEOUT_MS", ms_text(postgres.connection.server_statement_timeout),
         "PostgreSQL's own statement_timeout, a backstop for statements whose caller went away (0: none)",
         [](Config& c, auto n, auto v) {
             c.postgres.connection.server_statement_timeout = parse_ms(n, v, 0);
         }},
        {"RABBITMQ_URL", std::string{default_rabbitmq_url},
         "RabbitMQ URL; else built from RABBITMQ_HOST/PORT/USER/PASS",
         // amqps:// is refused here, with this one line, rather than by the broker client at start-up.
         [](Config& c, auto n, auto v) { c.rabbitmq_url = parse_url(n, v, {"amqp://"}); }},
        {"RABBITMQ_CONNECT_TIMEOUT_MS", ms_text(rabbitmq.connect_timeout),
         "bound on the TCP connect and the AMQP handshake with RabbitMQ",
         [](Config& c, auto n, auto v) { c.rabbitmq.connect_timeout = parse_ms(n, v, 1); }},
        {"RABBITMQ_CONFIRM_TIMEOUT_MS", ms_text(rabbitmq.confirm_timeout),
         "longest a job message waits for the broker's confirm",
         [](Config& c, auto n, auto v) { c.rabbitmq.confirm_timeout = parse_ms(n, v, 1); }},
        {"RABBITMQ_RPC_TIMEOUT_MS", ms_text(rabbitmq.rpc_timeout),
         "longest the queue's declaration, readiness' ping and a channel's set-up wait for RabbitMQ",
         [](Config& c, auto n, auto v) { c.rabbitmq.rpc_timeout = parse_ms(n, v, 1); }},
        {"RABBITMQ_HEARTBEAT_SECONDS", seconds_text(rabbitmq.heartbeat),
         "AMQP heartbeat interval asked of the broker, which keeps an idle connection alive and shows a dead "
         "one (0: no heartbeats)",
         [](Config& c, auto n, auto v) {
             c.rabbitmq.heartbeat = std::chrono::seconds{parse_unsigned(n, v, 0, 3600)};
         }},
        {"JOBS_QUEUE", std::string{default_jobs_queue}, "queue the job messages are published to",
         [](Config& c, auto n, auto v) {
             if (v.empty() || v.size() > 255) bad(n, "expected a queue name of 1 to 255 bytes", v);
             c.jobs_queue = v;
         }},
        {"MAX_FILE_SIZE", size_text(jobs::default_max_file_size),
         "largest accepted CV file (bytes; K, M, G suffixes)",
         [](Config& c, auto n, auto v) { c.upload_limits.max_file_size = parse_size(n, v); }},
        {"MAX_FILES", std::to_string(jobs::default_max_files), "most files in one request",
         [](Config& c, auto n, auto v) { c.upload_limits.max_files = parse_unsigned(n, v, 1, 100000); }},
        {"MAX_BODY_SIZE", size_text(server.limits.max_body_size),
         "largest request body (bytes; K, M, G suffixes)",
         [](Config& c, auto n, auto v) { c.server.limits.max_body_size = parse_size(n, v); }},
        {"JD_MIN_LENGTH", std::to_string(jobs::default_jd_min_length),
         "shortest accepted jd_text (characters, trimmed)",
         [](Config& c, auto n, auto v) {
             c.upload_limits.jd_min_length = parse_unsigned(n, v, 0, 1'000'000);
         }},
        {"JD_MAX_LENGTH", std::to_string(jobs::default_jd_max_length),
         "longest accepted jd_text (characters, trimmed)",
         [](Config& c, auto n, auto v) {
             c.upload_limits.jd_max_length = parse_unsigned(n, v, 1, 1'000'000);
         }},
        {"API_KEYS", "", "comma-separated API keys; empty: no authentication",
         [](Config& c, auto, auto v) { c.api_keys = parse_list(v); }},
        {"CORS_ORIGINS", "", "comma-separated allowed origins (or *); empty: no CORS headers",
         [](Config& c, auto, auto v) { c.cors_origins = parse_list(v); }},
        {"IO_THREADS", "cores", "threads serving connections",
         [](Config& c, auto n, auto v) { c.server.io_threads = parse_unsigned(n, v, 1, 256); }},
        {"BLOCKING_THREADS", std::to_string(blocking_threads_per_core) + " x cores",
         "threads running blocking client calls, for each dependency on its own (MongoDB, PostgreSQL, the "
         "volume)",
         [](Config& c, auto n, auto v) { c.blocking_threads = parse_unsigned(n, v, 1, 1024); }},
        {"DEPENDENCY_QUEUE_LIMIT", std::to_string(default_dependency_queue_limit),
         "calls of one dependency waiting for a thread or connection at most; past it: 503 at once",
         [](Config& c, auto n, auto v) { c.dependency_queue_limit = parse_unsigned(n, v, 1, 1'000'000); }},
        {"IN_DOUBT_SECONDS", seconds_text(default_in_doubt),
         "longest a call that failed at its deadline after it started may stay unsettled before its "
         "request is rolled back all the same",
         [](Config& c, auto n, auto v) { c.in_doubt = std::chrono::seconds{parse_unsigned(n, v, 1, 3600)}; }},
        {"LOG_LEVEL", std::string{to_string(default_log_level)}, "debug, info, warning or error",
         [](Config& c, auto n, auto v) {
             static const std::map<std::string, LogLevel> levels = {{"debug", LogLevel::debug},
                                                                    {"info", LogLevel::info},
                                                                    {"warning", LogLevel::warning},
                                                                    {"warn", LogLevel::warning},
                                                                    {"error", LogLevel::error}};
             auto it = levels.find(lower(v));
             if (it == levels.end()) bad(n, "expected debug, info, warning or error", v);
             c.log_level = it->second;
         }},
        {"LOG_FORMAT", default_log_format == LogFormat::json ? "json" : "text",
         "json (one object per line) or text",
         [](Config& c, auto n, auto v) {
             auto l = lower(v);
             if (l == "json")
                 c.log_format = LogFormat::json;
             else if (l == "text")
                 c.log_format = LogFormat::text;
             else
                 bad(n, "expected json or text", v);
         }},
        {"SHUTDOWN_GRACE_SECONDS", seconds_text(default_shutdown_grace),
         "time in-flight requests get to finish on SIGTERM",
         [](Config& c, auto n, auto v) {
             c.shutdown_grace = std::chrono::seconds{parse_unsigned(n, v, 0, 3600)};
         }},
        {"DRAIN_SECONDS", seconds_text(default_drain),
         "after SIGTERM, time idle keep-alive connections stay open and are served "
         "(less than SHUTDOWN_GRACE_SECONDS; 0: closed at once)",
         [](Config& c, auto n, auto v) { c.drain = std::chrono::seconds{parse_unsigned(n, v, 0, 3600)}; }},
        {"MAX_HEADER_SIZE", size_text(server.limits.header_limit),
         "largest request line + header block (bytes)",
         [](Config& c, auto n, auto v) {
             c.server.limits.header_limit = parse_size(n, v);
             if (c.server.limits.header_limit < 1024 || c.server.limits.header_limit > (1u << 20))
                 bad(n, "expected a size from 1K to 1M", v);
         }},
        {"MAX_CONNECTIONS", std::to_string(server.limits.max_connections),
         "most concurrent connections; more are refused with 503",
         [](Config& c, auto n, auto v) {
             c.server.limits.max_connections = parse_unsigned(n, v, 1, 1'000'000);
         }},
        {"HEADER_TIMEOUT_SECONDS", seconds_text(server.limits.header_timeout),
         "time a client gets to send a request head",
         [](Config& c, auto n, auto v) {
             c.server.limits.header_timeout = std::chrono::seconds{parse_unsigned(n, v, 1, 3600)};
         }},
        {"BODY_TIMEOUT_SECONDS", seconds_text(server.limits.body_timeout),
         "longest silence while a request body is read",
         [](Config& c, auto n, auto v) {
             c.server.limits.body_timeout = std::chrono::seconds{parse_unsigned(n, v, 1, 3600)};
         }},
        {"IDLE_TIMEOUT_SECONDS", seconds_text(server.limits.idle_timeout),
         "keep-alive connection idle time before it is closed",
         [](Config& c, auto n, auto v) {
             c.server.limits.idle_timeout = std::chrono::seconds{parse_unsigned(n, v, 1, 3600)};
         }},
        {"RECOVERY_SECONDS", seconds_text(default_recovery),
         "time within which a killed replica's half-done uploads and jobs are removed by a live one",
         [](Config& c, auto n, auto v) {
             c.recovery = std::chrono::seconds{parse_unsigned(n, v, 4, 86400)};
         }},
        {"IDEMPOTENCY_TTL_SECONDS", seconds_text(default_idempotency_ttl),
         "how long an Idempotency-Key's first answer is replayed",
         [](Config& c, auto n, auto v) {
             c.idempotency_ttl = std::chrono::seconds{parse_unsigned(n, v, 1, 30 * 86400)};
         }},
        // Parts of DATABASE_URL and RABBITMQ_URL: gathered in a second pass (compose_urls).
        {"POSTGRES_HOST", std::string{default_postgres_host}, "used when DATABASE_URL is unset", nullptr},
        {"POSTGRES_PORT", std::to_string(default_postgres_port), "used when DATABASE_URL is unset", nullptr},
        {"POSTGRES_USER", "", "used when DATABASE_URL is unset", nullptr},
        {"POSTGRES_PASSWORD", "", "used when DATABASE_URL is unset", nullptr},
        {"POSTGRES_DB", std::string{default_postgres_db}, "used when DATABASE_URL is unset", nullptr},
        {"RABBITMQ_HOST", std::string{default_rabbitmq_host}, "used when RABBITMQ_URL is unset", nullptr},
        {"RABBITMQ_PORT", std::to_string(default_rabbitmq_port), "used when RABBITMQ_URL is unset", nullptr},
        {"RABBITMQ_USER", std::string{default_rabbitmq_user}, "used when RABBITMQ_URL is unset", nullptr},
        {"RABBITMQ_PASS", std::string{default_rabbitmq_pass}, "used when RABBITMQ_URL is unset", nullptr},
    };
    return table;
}

// DATABASE_URL / RABBITMQ_URL from their parts, when the URL itself is not given.
void compose_urls(Config& c, const std::map<std::string, std::string, std::less<>>& given) {
    auto get = [&](std::string_view k) -> std::optional<std::string> {
        auto it = given.find(k);
        if (it == given.end()) return std::nullopt;
        return it->second;
    };
    auto host_of = [](std::string_view name, const std::string& v) {
        if (v.empty() || v.find_first_of("/@?# ") != std::string::npos) bad(name, "expected a host name", v);
        return v;
    };
    if (!given.contains("DATABASE_URL") &&
        (get("POSTGRES_HOST") || get("POSTGRES_PORT") || get("POSTGRES_USER") || get("POSTGRES_DB"))) {
        std::string host =
            host_of("POSTGRES_HOST", get("POSTGRES_HOST").value_or(std::string{default_postgres_host}));
        auto port = parse_unsigned(
            "POSTGRES_PORT", get("POSTGRES_PORT").value_or(std::to_string(default_postgres_port)), 1, 65535);
        std::string auth;
        if (auto user = get("POSTGRES_USER"); user && !user->empty()) {
            auth = percent_encode(*user);
            if (auto pass = get("POSTGRES_PASSWORD"); pass && !pass->empty())
                auth += ":" + percent_encode(*pass);
            auth += "@";
        }
        c.postgres.connection.url =
            "postgresql://" + auth + host + ":" + std::to_string(port) + "/" +
            percent_encode(get("POSTGRES_DB").value_or(std::string{default_postgres_db}));
    }
    if (!given.contains("RABBITMQ_URL") &&
        (get("RABBITMQ_HOST") || get("RABBITMQ_PORT") || get("RABBITMQ_USER") || get("RABBITMQ_PASS"))) {
        std::string host =
            host_of("RABBITMQ_HOST", get("RABBITMQ_HOST").value_or(std::string{default_rabbitmq_host}));
        auto port = parse_unsigned(
            "RABBITMQ_PORT", get("RABBITMQ_PORT").value_or(std::to_string(default_rabbitmq_port)), 1, 65535);
        c.rabbitmq_url =
            "amqp://" + percent_encode(get("RABBITMQ_USER").value_or(std::string{default_rabbitmq_user})) +
            ":" + percent_encode(get("RABBITMQ_PASS").value_or(std::string{default_rabbitmq_pass})) + "@" +
            host + ":" + std::to_string(port) + "/";
    }
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept {
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

Environment process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string{name}.c_str());
        if (!v) return std::nullopt;
        return std::string{v};
    };
}

LoadResult load_config(const std::vector<std::string_view>& args, const Environment& env) {
    LoadResult result;
    result.config.server.io_threads = cores();
    result.config.blocking_threads = blocking_threads_per_core * cores();

    // Gather every value: environment first, flags over it.
    std::map<std::string, std::string, std::less<>> given;
    for (const auto& opt : options())
        if (auto v = env(opt.env)) given[std::string{opt.env}] = *v;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            result.help = true;
            return result;
        }
        if (arg == "--version") {
            result.version = true;
            return result;
        }
        std::string_view name = arg, value;
        bool has_value = false;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        auto it = std::find_if(options().begin(), options().end(),
                               [&](const Option& o) { return flag_of(o.env) == name; });
        if (it == options().end())
            throw ConfigError{"unknown option '" + std::string{name} + "' (see --help)"};
        if (!has_value) {
            if (i + 1 == args.size()) throw ConfigError{std::string{name} + ": missing value"};
            value = args[++i];
        }
        given[std::string{it->env}] = std::string{value};
    }

    for (const auto& opt : options()) {
        auto it = given.find(opt.env);
        if (it != given.end() && opt.apply) opt.apply(result.config, opt.env, it->second);
    }
    compose_urls(result.config, given);

    Config& c = result.config;
    if (!given.contains("DRAIN_SECONDS")) c.drain = std::min(c.drain, c.shutdown_grace / 2);
    if (c.drain.count() > 0 && c.drain >= c.shutdown_grace)
        throw ConfigError{"DRAIN_SECONDS: must be less than SHUTDOWN_GRACE_SECONDS (" +
                          std::to_string(c.shutdown_grace.count()) + "), or 0"};
    if (c.upload_limits.jd_min_length > c.upload_limits.jd_max_length)
        throw ConfigError{"JD_MIN_LENGTH: must not exceed JD_MAX_LENGTH (" +
                          std::to_string(c.upload_limits.jd_max_length) + ")"};
    if (c.upload_limits.max_file_size > c.server.limits.max_body_size)
        throw ConfigError{"MAX_FILE_SIZE: must not exceed MAX_BODY_SIZE (" +
                          std::to_string(c.server.limits.max_body_size) + ")"};
    return result;
}

std::string help_text() {
    std::string out =
        "cvgate - API gateway of the CV-screening pipeline\n\n"
        "Usage: cvgate [--flag value | --flag=value]...\n\n"
        "Every setting is an environment variable and the flag named after it; flags win.\n\n";
    for (const auto& opt : options()) {
        std::string line = "  " + flag_of(opt.env) + " (" + std::string{opt.env} + ")";
        if (line.size() < 48)
            line.resize(48, ' ');
        else
            line += "\n" + std::string(48, ' ');
        out += line + std::string{opt.meaning};
        if (!opt.default_text.empty()) out += " [default: " + std::string{opt.default_text} + "]";
        out += "\n";
    }
    out +=
        "\n  --help                                        this text\n"
        "  --version                                     print the version\n";
    return out;
}

}  // namespace cvgate::app
