#include <cvgate/app/config.hpp>

#include <catch2/catch.hpp>

#include <map>

using namespace cvgate::app;

namespace {

Environment env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string{name});
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

Config load(std::vector<std::string_view> args, std::map<std::string, std::string> vars = {}) {
    return load_config(args, env_of(std::move(vars))).config;
}

}  // namespace

TEST_CASE("defaults are the contract's", "[config]") {
    Config c = load({});
    CHECK(c.server.address == "0.0.0.0");
    CHECK(c.server.port == 8080);
    CHECK(c.upload_volume_path == "/uploads");
    CHECK(c.mongo.url == "mongodb://localhost:27017");
    CHECK(c.mongo.database == "kandidate_db");
    CHECK(c.postgres.connection.url == "postgresql://localhost:5432/kandidate");
    CHECK(c.rabbitmq_url == "amqp://guest:guest@localhost:5672/");
    CHECK(c.jobs_queue == "jobs_queue");
    CHECK(c.upload_limits.max_file_size == 10u << 20);
    CHECK(c.upload_limits.max_files == 50);
    CHECK(c.server.limits.max_body_size == 110u << 20);
    CHECK(c.upload_limits.jd_min_length == 50);
    CHECK(c.upload_limits.jd_max_length == 10000);
    CHECK(c.api_keys.empty());
    CHECK(c.cors_origins.empty());
    CHECK(c.server.io_threads >= 1);
    CHECK(c.blocking_threads == 4 * c.server.io_threads);
    CHECK(c.log_level == LogLevel::info);
    CHECK(c.log_format == LogFormat::json);
    CHECK(c.shutdown_grace == std::chrono::seconds{25});
    CHECK(c.drain == std::chrono::seconds{5});
    CHECK(c.server.limits.header_limit == 16 * 1024);
}

TEST_CASE("DRAIN_SECONDS stays within SHUTDOWN_GRACE_SECONDS", "[config]") {
    CHECK(load({"--drain-seconds", "10"}).drain == std::chrono::seconds{10});
    CHECK(load({}, {{"DRAIN_SECONDS", "0"}, {"SHUTDOWN_GRACE_SECONDS", "0"}}).drain ==
          std::chrono::seconds{0});
    // Unset, it shrinks with a short grace instead of refusing a grace that used to be valid.
    CHECK(load({}, {{"SHUTDOWN_GRACE_SECONDS", "4"}}).drain == std::chrono::seconds{2});
    CHECK(load({}, {{"SHUTDOWN_GRACE_SECONDS", "0"}}).drain == std::chrono::seconds{0});
    auto message_of = [](std::map<std::string, std::string> vars) {
        try {
            load({}, std::move(vars));
        } catch (const ConfigError& e) {
            return std::string{e.what()};
        }
        return std::string{"no error"};
    };
    CHECK(message_of({{"DRAIN_SECONDS", "25"}}) ==
          "DRAIN_SECONDS: must be less than SHUTDOWN_GRACE_SECONDS (25), or 0");
    CHECK_THAT(message_of({{"DRAIN_SECONDS", "3"}, {"SHUTDOWN_GRACE_SECONDS", "2"}}),
               Catch::StartsWith("DRAIN_SECONDS:"));
    CHECK_THAT(message_of({{"DRAIN_SECONDS", "soon"}}), Catch::StartsWith("DRAIN_SECONDS:"));
}

TEST_CASE("flags win over the environment, which wins over defaults", "[config]") {
    Config c = load({"--port", "9000", "--upload-volume-path=/data/up"},
                    {{"PORT", "7000"}, {"MAX_FILES", "3"}, {"UPLOAD_VOLUME_PATH", "/x"}});
    CHECK(c.server.port == 9000);
    CHECK(c.upload_volume_path == "/data/up");
    CHECK(c.upload_limits.max_files == 3);
}

TEST_CASE("sizes take binary suffixes", "[config]") {
    CHECK(load({"--max-file-size", "1K"}).upload_limits.max_file_size == 1024);
    CHECK(load({"--max-file-size", "2MiB"}).upload_limits.max_file_size == 2u << 20);
    CHECK(load({"--max-body-size", "1G"}).server.limits.max_body_size == 1u << 30);
    CHECK(load({"--max-file-size", "123"}).upload_limits.max_file_size == 123);
}

TEST_CASE("lists are comma-separated and trimmed", "[config]") {
    Config c = load({}, {{"API_KEYS", " a , b,,c "}, {"CORS_ORIGINS", "http://x.test"}});
    CHECK(c.api_keys == std::vector<std::string>{"a", "b", "c"});
    CHECK(c.cors_origins == std::vector<std::string>{"http://x.test"});
}

TEST_CASE("URLs are composed from their parts when not given whole", "[config]") {
    Config c = load({}, {{"POSTGRES_HOST", "db"},
                         {"POSTGRES_USER", "app"},
                         {"POSTGRES_PASSWORD", "p@ss"},
                         {"POSTGRES_DB", "kandidate"},
                         {"RABBITMQ_HOST", "mq"},
                         {"RABBITMQ_PASS", "s3"}});
    CHECK(c.postgres.connection.url == "postgresql://app:p%40ss@db:5432/kandidate");
    CHECK(c.rabbitmq_url == "amqp://guest:s3@mq:5672/");
    Config whole = load({}, {{"DATABASE_URL", "postgresql://u@h/d"}, {"POSTGRES_HOST", "ignored"}});
    CHECK(whole.postgres.connection.url == "postgresql://u@h/d");
}

TEST_CASE("a bad value stops start-up with one line naming the variable", "[config]") {
    auto message_of = [](std::vector<std::string_view> args, std::map<std::string, std::string> vars) {
        try {
            load(std::move(args), std::move(vars));
        } catch (const ConfigError& e) {
            return std::string{e.what()};
        }
        return std::string{"no error"};
    };
    CHECK_THAT(message_of({}, {{"PORT", "http"}}), Catch::StartsWith("PORT:"));
    CHECK_THAT(message_of({}, {{"PORT", "70000"}}), Catch::StartsWith("PORT:"));
    CHECK_THAT(message_of({}, {{"MAX_FILES", "-1"}}), Catch::StartsWith("MAX_FILES:"));
    CHECK_THAT(message_of({}, {{"MAX_FILE_SIZE", "0"}}), Catch::StartsWith("MAX_FILE_SIZE:"));
    CHECK_THAT(message_of({}, {{"LISTEN_ADDR", "not-an-ip"}}), Catch::StartsWith("LISTEN_ADDR:"));
    CHECK_THAT(message_of({}, {{"LOG_LEVEL", "loud"}}), Catch::StartsWith("LOG_LEVEL:"));
    CHECK_THAT(message_of({}, {{"UPLOAD_VOLUME_PATH", "relative"}}),
               Catch::StartsWith("UPLOAD_VOLUME_PATH:"));
    CHECK_THAT(message_of({}, {{"JD_MIN_LENGTH", "500"}, {"JD_MAX_LENGTH", "100"}}),
               Catch::StartsWith("JD_MIN_LENGTH:"));
    CHECK_THAT(message_of({"--nope", "1"}, {}), Catch::Contains("unknown option '--nope'"));
    CHECK_THAT(message_of({"--port"}, {}), Catch::Contains("--port: missing value"));
    CHECK_THAT(message_of({}, {{"RABBITMQ_URL", "amqps://u:p@mq/"}}), Catch::StartsWith("RABBITMQ_URL:"));
    const auto secret = message_of({}, {{"DATABASE_URL", "mysql://user:hunter2@db/x"}});
    CHECK_THAT(secret, Catch::StartsWith("DATABASE_URL:"));
    CHECK_THAT(secret, !Catch::Contains("hunter2"));
}

TEST_CASE("--help lists every variable with its flag", "[config]") {
    CHECK(load_config({"--help"}, env_of({})).help);
    const std::string help = help_text();
    for (auto name : {"UPLOAD_VOLUME_PATH", "--upload-volume-path",
                      "MONGO_URL",          "DATABASE_URL",
                      "RABBITMQ_URL",       "JOBS_QUEUE",
                      "MAX_FILE_SIZE",      "MAX_FILES",
                      "MAX_BODY_SIZE",      "JD_MIN_LENGTH",
                      "JD_MAX_LENGTH",      "API_KEYS",
                      "CORS_ORIGINS",       "IO_THREADS",
                      "BLOCKING_THREADS",   "LOG_LEVEL",
                      "LOG_FORMAT",         "SHUTDOWN_GRACE_SECONDS",
                      "DRAIN_SECONDS",      "--drain-seconds",
                      "LISTEN_ADDR",        "PORT",
                      "RECOVERY_SECONDS",   "IDEMPOTENCY_TTL_SECONDS",
                      "IN_DOUBT_SECONDS",   "DEPENDENCY_QUEUE_LIMIT"})
        CHECK_THAT(help, Catch::Contains(name));
}

TEST_CASE("--help shows each default as written before, read from the option's owner", "[config]") {
    const std::string help = help_text();
    for (auto shown :
         {"(MAX_FILE_SIZE)", "[default: 10M]", "[default: 110M]", "[default: 16K]", "[default: 0.0.0.0]",
          "[default: 8080]", "[default: mongodb://localhost:27017]",
          "[default: postgresql://localhost:5432/kandidate]", "[default: amqp://guest:guest@localhost:5672/]",
          "[default: 4 x cores]", "[default: 86400]", "[default: info]", "[default: json]"})
        CHECK_THAT(help, Catch::Contains(shown));
}

TEST_CASE("every client timeout is a setting whose default is the client's own", "[config]") {
    namespace mongo = cvgate::clients::mongo;
    namespace pg = cvgate::clients::postgres;
    using std::chrono::milliseconds;
    const Config c = load({});
    CHECK(c.mongo.server_selection_timeout == mongo::default_server_selection_timeout);
    CHECK(c.mongo.connect_timeout == mongo::default_connect_timeout);
    CHECK(c.mongo.socket_timeout == mongo::default_socket_timeout);
    CHECK(c.mongo.call_timeout == mongo::default_call_timeout);
    CHECK(c.postgres.connection.connect_timeout == pg::default_connect_timeout);
    CHECK(c.postgres.default_timeout == pg::default_call_timeout);
    CHECK(c.postgres.ping_timeout == pg::default_ping_timeout);
    CHECK(c.postgres.connection.cancel_grace == pg::default_cancel_grace);
    CHECK(c.postgres.connection.server_statement_timeout == milliseconds{0});
    const cvgate::clients::amqp::PublisherOptions amqp;
    CHECK(c.rabbitmq.connect_timeout == amqp.connect_timeout);
    CHECK(c.rabbitmq.confirm_timeout == amqp.confirm_timeout);
    CHECK(c.rabbitmq.rpc_timeout == amqp.rpc_timeout);
    CHECK(c.rabbitmq.heartbeat == amqp.heartbeat);

    const Config set = load({"--mongo-call-timeout-ms", "1500", "--rabbitmq-heartbeat-seconds=0"},
                            {{"MONGO_SERVER_SELECTION_TIMEOUT_MS", "100"},
                             {"MONGO_CONNECT_TIMEOUT_MS", "200"},
                             {"MONGO_SOCKET_TIMEOUT_MS", "300"},
                             {"POSTGRES_CONNECT_TIMEOUT_MS", "400"},
                             {"POSTGRES_CALL_TIMEOUT_MS", "500"},
                             {"POSTGRES_PING_TIMEOUT_MS", "600"},
                             {"POSTGRES_CANCEL_GRACE_MS", "700"},
                             {"POSTGRES_STATEMENT_TIMEOUT_MS", "800"},
                             {"RABBITMQ_CONNECT_TIMEOUT_MS", "900"},
                             {"RABBITMQ_CONFIRM_TIMEOUT_MS", "1000"},
                             {"RABBITMQ_RPC_TIMEOUT_MS", "1100"}});
    CHECK(set.mongo.call_timeout == milliseconds{1500});
    CHECK(set.mongo.server_selection_timeout == milliseconds{100});
    CHECK(set.mongo.connect_timeout == milliseconds{200});
    CHECK(set.mongo.socket_timeout == milliseconds{300});
    CHECK(set.postgres.connection.connect_timeout == milliseconds{400});
    CHECK(set.postgres.default_timeout == milliseconds{500});
    CHECK(set.postgres.ping_timeout == milliseconds{600});
    CHECK(set.postgres.connection.cancel_grace == milliseconds{700});
    CHECK(set.postgres.connection.server_statement_timeout == milliseconds{800});
    CHECK(set.rabbitmq.connect_timeout == milliseconds{900});
    CHECK(set.rabbitmq.confirm_timeout == milliseconds{1000});
    CHECK(set.rabbitmq.rpc_timeout == milliseconds{1100});
    CHECK(set.rabbitmq.heartbeat == std::chrono::seconds{0});
    // A timeout's variable is not one of the parts DATABASE_URL and RABBITMQ_URL are built from.
    CHECK(set.postgres.connection.url == pg::default_url);
    CHECK(set.rabbitmq_url == default_rabbitmq_url);

    CHECK_THROWS_WITH(load({}, {{"MONGO_CALL_TIMEOUT_MS", "0"}}),
                      Catch::StartsWith("MONGO_CALL_TIMEOUT_MS:"));
    CHECK_THROWS_WITH(load({}, {{"RABBITMQ_CONFIRM_TIMEOUT_MS", "5s"}}),
                      Catch::StartsWith("RABBITMQ_CONFIRM_TIMEOUT_MS:"));
    const std::string help = help_text();
    for (auto name :
         {"--mongo-server-selection-timeout-ms", "--mongo-connect-timeout-ms", "--mongo-socket-timeout-ms",
          "--mongo-call-timeout-ms", "--postgres-connect-timeout-ms", "--postgres-call-timeout-ms",
          "--postgres-ping-timeout-ms", "--postgres-cancel-grace-ms", "--postgres-statement-timeout-ms",
          "--rabbitmq-connect-timeout-ms", "--rabbitmq-confirm-timeout-ms", "--rabbitmq-rpc-timeout-ms",
          "--rabbitmq-heartbeat-seconds"})
        CHECK_THAT(help, Catch::Contains(name));
}
