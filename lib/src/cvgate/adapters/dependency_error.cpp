#include <cvgate/adapters/dependency_error.hpp>

namespace cvgate::adapters {
namespace {

using Kind = jobs::DependencyError::Kind;
using Cause = jobs::DependencyError::Cause;

// The api tells a timeout and data the server cannot store from any other failure (503).
Kind kind_of(clients::ErrorKind kind) noexcept {
    switch (kind) {
        case clients::ErrorKind::timeout:
            return Kind::timeout;
        case clients::ErrorKind::invalid_data:
            return Kind::invalid_data;
        case clients::ErrorKind::unavailable:
        case clients::ErrorKind::conflict:
        case clients::ErrorKind::not_found:
        case clients::ErrorKind::rejected:
            break;
    }
    return Kind::unavailable;
}

Cause cause_of(clients::Cause cause) noexcept {
    switch (cause) {
        case clients::Cause::refused:
            return Cause::refused;
        case clients::Cause::timeout:
            return Cause::timeout;
        case clients::Cause::auth:
            return Cause::auth;
        case clients::Cause::error:
            break;
    }
    return Cause::error;
}

}  // namespace

jobs::DependencyError dependency_error(jobs::Dependency dependency, const clients::ClientError& error) {
    return jobs::DependencyError{dependency,   kind_of(error.kind()), cause_of(error.cause()),
                                 error.what(), error.message(),       error.settlement()};
}

jobs::DependencyError dependency_error(jobs::Dependency dependency, const exec::DeadlineExceeded& error) {
    return jobs::DependencyError{dependency,   Kind::timeout, Cause::timeout,
                                 error.what(), error.what(),  error.settlement()};
}

jobs::DependencyError volume_error(clients::ErrorKind kind, const std::string& message) {
    return jobs::DependencyError{jobs::Dependency::upload_volume, kind_of(kind),
                                 kind == clients::ErrorKind::timeout ? Cause::timeout : Cause::error,
                                 "volume " + std::string{clients::to_string(kind)} + ": " + message, message};
}

}  // namespace cvgate::adapters
