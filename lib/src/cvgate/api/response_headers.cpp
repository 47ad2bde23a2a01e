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

ids::TraceContext trace_context_for(const http::RequestHead& head) {
    // Two traceparents: which would be the caller's? Neither; the trace starts here.
    if (head.count("traceparent") != 1) return ids::TraceContext::start();
    std::string tracestate;
    const auto [first, last] = head.equal_range("tracestate");
    for (auto it = first; it != last; ++it) {
        if (it != first) tracestate += ',';  // several fields are one list (RFC 9110, 5.3)
        tracestate += it->value();
    }
    return ids::TraceContext::for_request(head.find("traceparent")->value(), tracestate);
}

void use_cvgate_headers(http::ServerOptions& options, const AccessPolicy* policy) {
    options.request_id = &correlation_id_for;
    options.trace_context = &trace_context_for;
    options.on_response = [policy](const http::RequestHead& head, std::string_view correlation_id,
                                   const ids::TraceContext& trace, http::Response& response) {
        response.set(http::Field::server, "cvgate");
        response.set("X-Correlation-ID", correlation_id);
        if (!trace.empty()) response.set("traceparent", trace.traceparent());
        if (policy) policy->decorate(head, response);
    };
}

}  // namespace cvgate::api
