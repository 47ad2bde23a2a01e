#include <cvgate/http/framing.hpp>

#include <boost/beast/core/string.hpp>

namespace cvgate::http {
namespace {

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<HeadRefusal> check_transfer_encoding(const RequestHead& head) {
    auto [first, last] = head.equal_range(Field::transfer_encoding);
    if (first == last) return std::nullopt;
    if (head.version() < 11)
        return HeadRefusal{Status::bad_request, "Transfer-Encoding is not allowed in an HTTP/1.0 request"};
    bool chunked = false;  // `chunked` seen: it must be the last coding
    bool other = false;
    for (auto it = first; it != last; ++it) {
        std::string_view list = it->value();
        while (!list.empty()) {
            const auto comma = list.find(',');
            const std::string_view coding = trim_ows(list.substr(0, comma));
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            if (coding.empty()) continue;  // empty list elements are allowed and ignored
            if (chunked)
                return HeadRefusal{Status::bad_request, "Transfer-Encoding must end with a single chunked"};
            if (boost::beast::iequals(coding, "chunked"))
                chunked = true;
            else
                other = true;
        }
    }
    if (!chunked) return HeadRefusal{Status::bad_request, "Transfer-Encoding must end with chunked"};
    if (other) return HeadRefusal{Status::not_implemented, "Transfer coding not supported (only chunked)"};
    return std::nullopt;
}

// host = IP-literal / IPv4address / reg-name, then an optional `:port` (RFC 3986 §3.2.2).
bool is_host_value(std::string_view v) {
    if (v.empty()) return true;  // allowed when the target has no authority
    for (const char c : v) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        std::string_view{"-._~%!$&'()*+,;=:[]"}.find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

std::optional<HeadRefusal> check_host(const RequestHead& head) {
    if (head.version() < 11) return std::nullopt;
    auto [first, last] = head.equal_range(Field::host);
    if (first == last) return HeadRefusal{Status::bad_request, "Missing Host header"};
    if (std::next(first) != last) return HeadRefusal{Status::bad_request, "More than one Host header"};
    if (!is_host_value(first->value())) return HeadRefusal{Status::bad_request, "Invalid Host header"};
    return std::nullopt;
}

}  // namespace

std::optional<HeadRefusal> check_head(const RequestHead& head) {
    if (auto refusal = check_transfer_encoding(head)) return refusal;
    return check_host(head);
}

bool names_other_http_version(std::string_view head) {
    const std::string_view line = head.substr(0, head.find("\r\n"));
    if (line.size() < 9 || line.find("\r\n") != std::string_view::npos) return false;
    const std::string_view v = line.substr(line.size() - 9);  // " HTTP/d.d"
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    return v.substr(0, 6) == " HTTP/" && digit(v[6]) && v[7] == '.' && digit(v[8]) && v.substr(6) != "1.0" &&
           v.substr(6) != "1.1";
}

std::optional<std::string> origin_form(std::string_view target) {
    std::size_t scheme = 0;
    if (target.size() >= 7 && boost::beast::iequals(target.substr(0, 7), "http://"))
        scheme = 7;
    else if (target.size() >= 8 && boost::beast::iequals(target.substr(0, 8), "https://"))
        scheme = 8;
    else
        return std::nullopt;
    const std::string_view rest = target.substr(scheme);
    const auto path = rest.find_first_of("/?#");
    if (path == std::string_view::npos) return std::string{"/"};
    std::string out;
    if (rest[path] != '/') out = "/";
    out.append(rest.substr(path));
    if (const auto fragment = out.find('#'); fragment != std::string::npos) out.erase(fragment);
    return out;
}

}  // namespace cvgate::http
