// What the clients refuse before they connect to anything: a URL they cannot use, refused
// without echoing its password, and the MongoDB driver's own diagnostics about it, which name
// no credential either.

#include <cvgate/clients/amqp/publisher.hpp>
#include <cvgate/clients/client_error.hpp>
#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/exec/blocking_pool.hpp>

#include <catch2/catch.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace amqp = cvgate::clients::amqp;
namespace mongo = cvgate::clients::mongo;
using cvgate::clients::ClientError;
using cvgate::clients::ErrorKind;

TEST_CASE("a malformed or amqps:// URL is refused without echoing the password") {
    cvgate::exec::BlockingPool pool{1};
    try {
        amqp::Publisher publisher{pool, "amqps://user:s3cret@host:5671/"};
        FAIL("amqps:// accepted");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string{e.what()}.find("s3cret") == std::string::npos);
    }
    CHECK_THROWS_AS((amqp::Publisher{pool, "http://user:s3cret@host/"}), std::invalid_argument);
}

TEST_CASE("a malformed URL is rejected at construction without echoing credentials", "[mongo]") {
    cvgate::exec::BlockingPool blocking{1};
    mongo::Options options;
    options.url = "mongodb://admin:s3cr3t-pw@/nohost";
    try {
        mongo::Client client{options, blocking.executor()};
        FAIL("a URL without a host was accepted");
    } catch (const ClientError& e) {
        CHECK(e.kind() == ErrorKind::rejected);
        CHECK_THAT(e.what(), !Catch::Contains("s3cr3t-pw"));
    }
}

TEST_CASE("the driver's own diagnostics go to the installed sink and name no credential", "[mongo]") {
    std::vector<std::string> lines;
    std::mutex mutex;
    mongo::set_driver_log_sink(
        [&](mongo::DriverLogLevel level, std::string_view domain, std::string_view message) {
            std::lock_guard lock{mutex};
            if (level >= mongo::DriverLogLevel::warning)
                lines.push_back(std::string{domain} + ": " + std::string{message});
        });
    struct ResetSink {
        ~ResetSink() { mongo::set_driver_log_sink(nullptr); }
    } reset;

    cvgate::exec::BlockingPool blocking{1};
    mongo::Options options;
    options.url = "mongodb://admin:s3cr3t-pw@/nohost";
    CHECK_THROWS_AS((mongo::Client{options, blocking.executor()}), ClientError);

    std::lock_guard lock{mutex};
    REQUIRE_FALSE(lines.empty());
    for (const auto& line : lines) {
        INFO(line);
        CHECK_THAT(line, !Catch::Contains("s3cr3t-pw"));
    }
}
