#include <cvgate/api/response_headers.hpp>

#include <cvgate/api/access_policy.hpp>
#include <cvgate/ids/uuid.hpp>

namespace cvgate::api {
namespace {

bool is_correlation_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

}  // namespace

std::string correlation_id_for(const http::RequestHead& head) {
    auto it = head.find("X-Correlation-ID");
    if (it != head.end()) {
        std::string_view v = it->value();
        if (!v.empty() && v.size() <= 128) {
            bool ok = true;
            for (char c : v) ok = ok && is_correlation_char(c);
            if (ok) return std::string{v};
        }
    }
    return ids::uuid_v4();
}

void use_cvgate_headers(http::ServerOptions& options, const AccessPolicy* policy) {
    options.request_id = &correlation_id_for;
    options.on_response = [policy](const http::RequestHead& head, std::string_view correlation_id,
                                   http::Response& response) {
        response.set(http::Field::server, "cvgate");
        response.set("X-Correlation-ID", correlation_id);
        if (policy) policy->decorate(head, response);
    };
}

}  // namespace cvgate::api
