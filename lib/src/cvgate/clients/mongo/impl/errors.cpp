#include <cvgate/clients/mongo/impl/errors.hpp>

#include <mongoc/mongoc.h>

namespace cvgate::clients::mongo::impl {
namespace {

// Server error codes (src/mongo/base/error_codes.yml) that mean "no usable server right now".
bool means_unavailable(std::uint32_t code) {
    switch (code) {
        case 6:      // HostUnreachable
        case 7:      // HostNotFound
        case 91:     // ShutdownInProgress
        case 189:    // PrimarySteppedDown
        case 9001:   // SocketException
        case 10107:  // NotWritablePrimary
        case 11600:  // InterruptedAtShutdown
        case 11602:  // InterruptedDueToReplStateChange
        case 13435:  // NotPrimaryNoSecondaryOk
        case 13436:  // NotPrimaryOrSecondary
            return true;
        default:
            return false;
    }
}

bool means_timeout(std::uint32_t code) {
    return code == 50       // MaxTimeMSExpired
           || code == 89    // NetworkTimeout
           || code == 262;  // ExceededTimeLimit
}

bool means_conflict(std::uint32_t code) {
    return code == 11000 || code == 11001 || code == 12582;  // duplicate key, in its three spellings
}

}  // namespace

ErrorKind classify(const bson_error_t& error) noexcept {
    switch (error.domain) {
        case MONGOC_ERROR_STREAM:
        case MONGOC_ERROR_SERVER_SELECTION:
        case MONGOC_ERROR_PROTOCOL:
            return ErrorKind::unavailable;
        case MONGOC_ERROR_CLIENT:
            return error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE ? ErrorKind::unavailable
                                                                  : ErrorKind::rejected;
        case MONGOC_ERROR_SERVER:
        case MONGOC_ERROR_WRITE_CONCERN:
        case MONGOC_ERROR_QUERY:
        case MONGOC_ERROR_COLLECTION:
        case MONGOC_ERROR_COMMAND:
            if (means_conflict(error.code)) return ErrorKind::conflict;
            if (means_timeout(error.code)) return ErrorKind::timeout;
            if (means_unavailable(error.code)) return ErrorKind::unavailable;
            return error.domain == MONGOC_ERROR_WRITE_CONCERN ? ErrorKind::unavailable : ErrorKind::rejected;
        default:
            return ErrorKind::rejected;
    }
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
    for (const std::string& secret : secrets) {
        if (secret.empty()) continue;
        for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
            text.replace(at, secret.size(), "***");
    }
    return text;
}

ClientError driver_error(const bson_error_t& error, std::string_view operation, std::string_view collection,
                         const std::vector<std::string>& secrets) {
    std::string message{operation};
    if (!collection.empty()) message.append(" ").append(collection);
    message.append(": ")
        .append(error.message)
        .append(" (code ")
        .append(std::to_string(error.code))
        .append(")");
    const ErrorKind kind = classify(error);
    const bool auth = error.domain == MONGOC_ERROR_CLIENT && error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE;
    // Otherwise the driver says why only in words ("connection refused calling hello on ...").
    const Cause cause =
        auth ? Cause::auth
             : cause_of_text(error.message, kind == ErrorKind::timeout ? Cause::timeout : Cause::error);
    return ClientError{kind, Dependency::mongo, redact(std::move(message), secrets), cause};
}

}  // namespace cvgate::clients::mongo::impl
