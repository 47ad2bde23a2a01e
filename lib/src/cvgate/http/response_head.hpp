#pragma once
// A response's head as the session sends it (not a public header): the handler's status and
// fields, then what the server stamps on every answer, early refusals included, rendered
// straight into one reused buffer.

#include <cvgate/http/server.hpp>

#include <string>
#include <string_view>

namespace cvgate::http::session_detail {

// What the server stamps on an answer, beside the handler's fields.
struct Stamp {
    std::string_view request_id;  // sent back under ServerOptions::request_id_header
    const ids::TraceContext& trace;
    bool keep_alive;
};

// "HTTP/1.1 <status> <reason>\r\n"; the response's fields but those the server owns; then
// Date, Server, the request's id, its `traceparent` when traced, `Connection: close` when the
// connection ends after it, and Content-Length (the body's size, sent or not); then "\r\n".
// The fields the server owns are those it stamps, and Transfer-Encoding: a handler cannot
// override them. Apply ServerOptions::on_response to the response first.
void render_head(const ServerOptions& options, const Stamp& stamp, const Response& response,
                 std::string& out);

// The Date header's value, formatted once per second per thread.
std::string_view http_date();

}  // namespace cvgate::http::session_detail
