#pragma once
// An error that already knows its HTTP answer: thrown by body readers and handlers, turned
// into `{"detail": ...}` by the session. Its text must be safe to show a client.

#include <cvgate/http/response.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>

namespace cvgate::http {

class HttpError : public std::runtime_error {
public:
    HttpError(Status status, std::string detail)
        : std::runtime_error{detail}, status_{status}, detail_(boost::json::string(detail)) {}
    HttpError(Status status, boost::json::object detail)
        : std::runtime_error{"http error"}, status_{status}, detail_(std::move(detail)) {}

    Status status() const noexcept { return status_; }
    const boost::json::value& detail() const noexcept { return detail_; }

private:
    Status status_;
    boost::json::value detail_;
};

// The connection is beyond answering (client gone, timed out mid-body): the session closes it.
class ConnectionAborted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace cvgate::http
