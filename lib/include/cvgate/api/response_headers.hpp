#pragma once
// How cvgate names a request (its correlation id and its span of a W3C trace) and what every
// one of its responses carries, early refusals made before routing included: Server,
// X-Correlation-ID, traceparent and, when configured, the CORS headers.

#include <cvgate/http/request.hpp>
#include <cvgate/http/server.hpp>
#include <cvgate/ids/trace_context.hpp>

#include <string>

namespace cvgate::api {

class AccessPolicy;

// The client's X-Correlation-ID when it is 1-128 characters of [A-Za-z0-9._:-], else a new
// UUID v4, written over `id`.
void correlation_id_for(const http::RequestHead& head, std::string& id);

// cvgate's span of the request's trace: the caller's when its `traceparent` is valid (one
// such header; `tracestate` fields joined by commas), else a new trace.
ids::TraceContext trace_context_for(const http::RequestHead& head);

// Sets `options.request_id`, `options.trace_context`, the Server and X-Correlation-ID headers
// and, for CORS, `options.on_response` so. `policy` (may be null: no CORS) must outlive the
// server.
void use_cvgate_headers(http::ServerOptions& options, const AccessPolicy* policy);

}  // namespace cvgate::api
