#pragma once
// The response type every handler returns, and builders for JSON answers and errors.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace cvgate::http {

using Status = boost::beast::http::status;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// `body` serialised as the response's JSON body.
Response json_response(Status status, const boost::json::value& body);
// `{"detail": "<detail>"}`: the error shape the frontend already parses (FastAPI's).
Response error_response(Status status, std::string_view detail);
inline Response error_response(Status status, const char* detail) {
    return error_response(status, std::string_view{detail});
}
// `{"detail": <detail>}` for the errors whose detail is an object.
Response error_response(Status status, const boost::json::value& detail);

}  // namespace cvgate::http
