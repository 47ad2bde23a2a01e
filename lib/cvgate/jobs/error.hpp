#pragma once
// The domain's typed errors: what went wrong in words the client may read. The api layer maps
// each kind to an HTTP status in exactly one place.

#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>

namespace cvgate::jobs {

enum class ErrorKind {
    bad_request,   // 400: malformed input, no files, every file rejected
    not_found,     // 404
    conflict,      // 409: sync of a job that is not complete
    too_large,     // 413
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

}  // namespace cvgate::jobs
