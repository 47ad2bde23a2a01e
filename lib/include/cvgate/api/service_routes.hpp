#pragma once
// The service endpoints that touch no dependency: `GET /` and `GET /healthz`.

#include <cvgate/http/router.hpp>

namespace cvgate::api {

void add_service_routes(http::Router& router);

}  // namespace cvgate::api
