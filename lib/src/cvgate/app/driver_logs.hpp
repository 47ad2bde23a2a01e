#pragma once
// The C drivers' own diagnostics (mongo-c-driver's log, PostgreSQL's notices) as lines of
// cvgate's logger, for as long as this lives. The Application holds one from before its
// clients exist until after they are destroyed: a driver that logs while it shuts down (the
// mongo driver's `Couldn't send "endSessions"`) still writes JSON, never bare text.
// rabbitmq-c has no log hook and prints nothing, apart from a line before it aborts on an
// internal inconsistency.

#include <cvgate/app/logging.hpp>

namespace cvgate::app {

class DriverLogs {
public:
    explicit DriverLogs(Logger& logger);
    ~DriverLogs();
    DriverLogs(const DriverLogs&) = delete;
    DriverLogs& operator=(const DriverLogs&) = delete;
};

}  // namespace cvgate::app
