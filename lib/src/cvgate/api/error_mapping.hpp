#pragma once
// The one place where the domain's failures become HTTP answers: its errors (jobs::Error) by
// kind, its dependencies' (jobs::DependencyError) as 503 with Retry-After (422 for data a
// dependency cannot store). Nothing internal (paths, URLs, stack) reaches a client.

#include <cvgate/http/response.hpp>

#include <exception>

namespace cvgate::api {

// Maps the exception to a response; returns nullopt for what is not ours to map (an
// http::HttpError, or a bug), which the HTTP layer then answers itself.
std::optional<http::Response> error_to_response(const std::exception_ptr& error);

}  // namespace cvgate::api
