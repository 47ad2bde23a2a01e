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

void correlation_id_for(const http::RequestHead& head, std::string& id) {
    auto it = head.find("X-Correlation-ID");
    if (it != head.end()) {
        std::string_view v = it->value();
        if (!v.empty() && v.size() <= 128) {
            bool ok = true;
            for (char c : v) ok = ok && is_correlation_char(c);
            if (ok) {
                id.assign(v);
                return;
            }
        }
    }
    ids::assign_uuid_v4(id);
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
    options.server_header = "cvgate";
    options.request_id_header = "X-Correlation-ID";
    options.on_response = nullptr;
    if (policy)
        options.on_response = [policy](const http::RequestHead& head, std::string_view,
                                       const ids::TraceContext&,
                                       http::Response& response) { policy->decorate(head, response); };
}

}  // namespace cvgate::api
