#pragma once
// How cvgate names a request (its correlation id) and what every one of its responses
// carries, early refusals made before routing included: Server, X-Correlation-ID and, when
// configured, the CORS headers.

#include <cvgate/http/request.hpp>
#include <cvgate/http/server.hpp>

#include <string>

namespace cvgate::api {

class AccessPolicy;

// The client's X-Correlation-ID when it is 1-128 characters of [A-Za-z0-9._:-], else a new
// UUID v4.
std::string correlation_id_for(const http::RequestHead& head);

// Sets `options.request_id` and `options.on_response` so. `policy` (may be null: no CORS)
// must outlive the server.
void use_cvgate_headers(http::ServerOptions& options, const AccessPolicy* policy);

}  // namespace cvgate::api
