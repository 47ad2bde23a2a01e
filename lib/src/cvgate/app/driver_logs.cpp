#include <cvgate/app/driver_logs.hpp>

#include <cvgate/clients/mongo/client.hpp>
#include <cvgate/clients/postgres/notices.hpp>

namespace cvgate::app {

DriverLogs::DriverLogs(Logger& logger) {
    namespace mongo = clients::mongo;
    mongo::set_driver_log_sink(
        [&logger](mongo::DriverLogLevel level, std::string_view domain, std::string_view message) {
            const LogLevel mapped = level == mongo::DriverLogLevel::error     ? LogLevel::error
                                    : level == mongo::DriverLogLevel::warning ? LogLevel::warning
                                    : level == mongo::DriverLogLevel::info    ? LogLevel::info
                                                                              : LogLevel::debug;
            logger.log(mapped, "mongo driver", {{"domain", domain}, {"message", message}});
        });
    clients::postgres::set_notice_sink([&logger](std::string_view notice) {
        logger.info("postgres notice", {{"message", notice}});
    });
}

DriverLogs::~DriverLogs() {
    clients::mongo::set_driver_log_sink(nullptr);
    clients::postgres::set_notice_sink(nullptr);
}

}  // namespace cvgate::app
