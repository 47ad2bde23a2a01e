#pragma once
// Who may call the job routes (API keys) and which browser origins may read the answers (CORS).

#include <cvgate/http/request.hpp>
#include <cvgate/http/response.hpp>

#include <optional>
#include <string>
#include <vector>

namespace cvgate::api {

class AccessPolicy {
public:
    AccessPolicy(std::vector<std::string> api_keys, std::vector<std::string> cors_origins)
        : keys_{std::move(api_keys)}, origins_{std::move(cors_origins)} {}

    // nullopt when the request may proceed; else the 401 to send. Keys come as
    // `Authorization: Bearer <key>` or `X-API-Key: <key>`; compared in constant time.
    std::optional<http::Response> authorize(const http::Request& request) const;
    // Adds the CORS headers when the request's Origin is allowed (every response, errors and
    // refusals made before routing too).
    void decorate(const http::RequestHead& head, http::Response& response) const;
    // The answer to a CORS preflight (OPTIONS) for a path that allows `methods`.
    http::Response preflight(const http::Request& request, std::string_view methods) const;

    bool cors_enabled() const noexcept { return !origins_.empty(); }

private:
    bool origin_allowed(std::string_view origin) const;

    std::vector<std::string> keys_;
    std::vector<std::string> origins_;
};

}  // namespace cvgate::api
