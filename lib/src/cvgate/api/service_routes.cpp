#include <cvgate/api/service_routes.hpp>

#include <cvgate/version.hpp>

#include <boost/json/object.hpp>

namespace cvgate::api {
namespace {

boost::asio::awaitable<http::Response> root(http::Request&) {
    co_return http::json_response(
        http::Status::ok,
        boost::json::object{{"service", "api-gateway"}, {"status", "healthy"}, {"version", cvgate::version}});
}

// Liveness: the process serves. Never touches a dependency, so a slow database cannot get
// the pod restarted.
boost::asio::awaitable<http::Response> healthz(http::Request&) {
    static const std::string body = R"({"status":"ok"})";
    http::Response res{http::Status::ok, 11};
    res.set(http::Field::content_type, "application/json");
    res.body() = body;
    co_return res;
}

}  // namespace

void add_service_routes(http::Router& router) {
    router.add(http::Verb::get, "/", root);
    router.add(http::Verb::get, "/healthz", healthz);
}

}  // namespace cvgate::api
