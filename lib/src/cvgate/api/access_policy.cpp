#include <cvgate/api/access_policy.hpp>

#include <boost/beast/core/string.hpp>

namespace cvgate::api {
namespace {

bool equal_constant_time(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
    return diff == 0;
}

}  // namespace

std::optional<http::Response> AccessPolicy::authorize(const http::Request& request) const {
    if (keys_.empty() || request.method() == http::Verb::options) return std::nullopt;
    std::string_view presented = request.header("X-API-Key");
    if (presented.empty()) {
        std::string_view auth = request.header(http::Field::authorization);
        if (auth.size() > 7 && boost::beast::iequals(auth.substr(0, 7), "Bearer "))
            presented = auth.substr(7);
    }
    bool ok = false;
    if (!presented.empty())
        for (const auto& key : keys_) ok |= equal_constant_time(presented, key);
    if (ok) return std::nullopt;
    auto res = http::error_response(http::Status::unauthorized, "Missing or invalid API key");
    res.set(http::Field::www_authenticate, "Bearer");
    return res;
}

bool AccessPolicy::origin_allowed(std::string_view origin) const {
    for (const auto& o : origins_)
        if (o == "*" || o == origin) return true;
    return false;
}

void AccessPolicy::decorate(const http::RequestHead& head, http::Response& response) const {
    if (origins_.empty()) return;
    const auto it = head.find(http::Field::origin);
    const std::string_view origin = it == head.end() ? std::string_view{} : std::string_view{it->value()};
    if (origin.empty() || !origin_allowed(origin)) return;
    response.set(http::Field::access_control_allow_origin, origin);
    response.set(http::Field::vary, "Origin");
    response.set(http::Field::access_control_expose_headers, "X-Correlation-ID, traceparent, Retry-After");
}

http::Response AccessPolicy::preflight(const http::Request& request, std::string_view methods) const {
    http::Response res{http::Status::no_content, 11};
    const std::string_view origin = request.header(http::Field::origin);
    if (!origins_.empty() && !origin.empty() && origin_allowed(origin)) {
        res.set(http::Field::access_control_allow_methods, methods);
        res.set(http::Field::access_control_allow_headers,
                "Authorization, Content-Type, X-API-Key, X-Correlation-ID, Idempotency-Key, traceparent, "
                "tracestate");
        res.set(http::Field::access_control_max_age, "600");
    }
    return res;
}

}  // namespace cvgate::api
