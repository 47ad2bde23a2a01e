#pragma once
// The one place where failures become HTTP answers: domain errors by kind, dependency
// failures as 503 with Retry-After. Nothing internal (paths, URLs, stack) reaches a client.

#include <cvgate/http/response.hpp>

#include <exception>

namespace cvgate::api {

// Maps the exception to a response; returns nullopt for what is not ours to map (an
// http::HttpError, or a bug), which the HTTP layer then answers itself.
std::optional<http::Response> error_to_response(const std::exception_ptr& error);

}  // namespace cvgate::api
