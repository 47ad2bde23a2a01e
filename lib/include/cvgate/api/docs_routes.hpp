#pragma once
// `GET /openapi.json` (this API's OpenAPI document) and `GET /docs` (Swagger UI rendering it),
// every byte embedded in the binary at build time: the page fetches nothing from elsewhere.

#include <cvgate/http/router.hpp>

#include <string_view>

namespace cvgate::api {

// Adds /openapi.json, /docs and the page's assets under /docs/.
void add_docs_routes(http::Router& router);

// The OpenAPI document (JSON), as embedded at build time.
std::string_view openapi_document() noexcept;

}  // namespace cvgate::api
