#pragma once
// The domain's typed errors: what went wrong in words the client may read. The api layer maps
// each kind to an HTTP status in exactly one place.

#include <cvgate/exec/settlement.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cvgate::jobs {

enum class ErrorKind {
    bad_request,   // 400: malformed input, no files, every file rejected
    not_found,     // 404
    conflict,      // 409: sync of a job that is not complete
    invalid_form,  // 422: a form field fails validation
    unavailable,   // 503: a dependency failed or timed out (already rolled back)
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string detail)
        : std::runtime_error{detail}, kind_{kind}, detail_(boost::json::string(detail)) {}
    Error(ErrorKind kind, boost::json::value detail, std::string summary)
        : std::runtime_error{std::move(summary)}, kind_{kind}, detail_(std::move(detail)) {}

    ErrorKind kind() const noexcept { return kind_; }
    const boost::json::value& detail() const noexcept { return detail_; }

private:
    // Initialised with parentheses: braces would make a boost::json::value an array.
    ErrorKind kind_;
    boost::json::value detail_;
};

// The dependencies behind the ports, as CONTRACT.md names them.
enum class Dependency {
    hot_storage,    // HotStore
    cold_storage,   // ColdStore, and the Idempotency-Keys beside it
    job_queue,      // JobQueue
    upload_volume,  // UploadStore
};

// A port's call failed: which dependency, how, why, in words safe to log (what()) and to show
// (message(): without the dependency and kind what() starts with). A failure of a call that
// had started may be in doubt: it carries the call's settlement (exec::settlement_of). Thrown
// by the adapters, from their clients' errors; the api maps it to 503 (422: invalid_data).
class DependencyError : public std::runtime_error, public exec::Doubt {
public:
    enum class Kind {
        unavailable,   // refused, failed, or could not be reached
        timeout,       // no answer within the call's deadline
        invalid_data,  // it cannot store these values: a retry would fail the same way
    };
    // Why it could not be used, in the few words a readiness probe's answer may carry.
    enum class Cause { refused, timeout, auth, error };

    DependencyError(Dependency dependency, Kind kind, Cause cause, const std::string& what,
                    std::string message, std::shared_ptr<exec::Settlement> settlement = nullptr)
        : std::runtime_error{what},
          Doubt{std::move(settlement)},
          dependency_{dependency},
          kind_{kind},
          cause_{cause},
          message_{std::move(message)} {}

    Dependency dependency() const noexcept { return dependency_; }
    Kind kind() const noexcept { return kind_; }
    Cause cause() const noexcept { return cause_; }
    const std::string& message() const noexcept { return message_; }

private:
    Dependency dependency_;
    Kind kind_;
    Cause cause_;
    std::string message_;
};

std::string_view to_string(DependencyError::Cause cause) noexcept;

}  // namespace cvgate::jobs
