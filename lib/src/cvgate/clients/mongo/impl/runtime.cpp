#include <cvgate/clients/mongo/impl/runtime.hpp>

#include <cvgate/clients/mongo/client.hpp>

#include <mongoc/mongoc.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace cvgate::clients::mongo {
namespace {

// The sink outlives the Runtime (it is constructed first), so the driver can log while it
// cleans up.
struct SinkSlot {
    std::mutex mutex;
    std::shared_ptr<const DriverLogSink> sink;
};

SinkSlot& sink_slot() {
    static SinkSlot slot;
    return slot;
}

DriverLogLevel level_of(mongoc_log_level_t level) {
    switch (level) {
        case MONGOC_LOG_LEVEL_ERROR:
        case MONGOC_LOG_LEVEL_CRITICAL:
            return DriverLogLevel::error;
        case MONGOC_LOG_LEVEL_WARNING:
            return DriverLogLevel::warning;
        case MONGOC_LOG_LEVEL_MESSAGE:
        case MONGOC_LOG_LEVEL_INFO:
            return DriverLogLevel::info;
        case MONGOC_LOG_LEVEL_DEBUG:
        case MONGOC_LOG_LEVEL_TRACE:
            return DriverLogLevel::debug;
    }
    return DriverLogLevel::debug;
}

// Called by the driver on any of its threads; no exception may leave it.
void forward_driver_log(mongoc_log_level_t level, const char* domain, const char* message, void*) noexcept {
    try {
        std::shared_ptr<const DriverLogSink> sink;
        {
            SinkSlot& slot = sink_slot();
            std::lock_guard lock{slot.mutex};
            sink = slot.sink;
        }
        const DriverLogLevel our_level = level_of(level);
        if (sink && *sink) {
            (*sink)(our_level, domain ? domain : "", message ? message : "");
        } else if (our_level >= DriverLogLevel::warning) {
            // No sink (before the application set one, or after it is gone): still one JSON
            // object per line, so that whoever reads stderr as JSON is not broken.
            const boost::json::object line{
                {"level", our_level == DriverLogLevel::error ? "error" : "warning"},
                {"msg", "mongo driver"},
                {"domain", domain ? domain : ""},
                {"message", message ? message : ""}};
            const std::string text = boost::json::serialize(line) + "\n";
            std::fwrite(text.data(), 1, text.size(), stderr);
        }
    } catch (...) {
        // A failing sink loses one line; the driver must never see an exception.
    }
}

}  // namespace

void set_driver_log_sink(DriverLogSink sink) {
    auto shared = std::make_shared<const DriverLogSink>(std::move(sink));
    SinkSlot& slot = sink_slot();
    std::lock_guard lock{slot.mutex};
    slot.sink = std::move(shared);
}

namespace impl {

Runtime::Runtime() {
    sink_slot();
    mongoc_log_set_handler(&forward_driver_log, nullptr);
    mongoc_init();
}

Runtime::~Runtime() { mongoc_cleanup(); }

std::shared_ptr<const Runtime> Runtime::acquire() {
    static const std::shared_ptr<const Runtime> instance{new Runtime};
    return instance;
}

}  // namespace impl
}  // namespace cvgate::clients::mongo
