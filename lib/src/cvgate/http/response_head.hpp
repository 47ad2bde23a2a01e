#pragma once
// A response's head as the session sends it (not a public header): stamped with what every
// answer carries, early refusals included, then rendered to bytes.

#include <cvgate/http/server.hpp>

#include <string>
#include <string_view>

namespace cvgate::http::session_detail {

// HTTP/1.1, Date, the application's fields (ServerOptions::on_response), then Connection and
// Content-Length, which the application cannot override.
void stamp(const ServerOptions& options, const RequestHead& head, std::string_view request_id,
           const ids::TraceContext& trace, Response& response, bool keep_alive);

// "HTTP/1.1 200 OK\r\n", every field as "Name: value\r\n", then "\r\n".
void render_head(const Response& response, std::string& out);

// The Date header's value, formatted once per second per thread.
std::string_view http_date();

}  // namespace cvgate::http::session_detail
