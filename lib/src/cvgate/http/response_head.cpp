#include <cvgate/http/response_head.hpp>

#include <boost/beast/core/string.hpp>

#include <array>
#include <charconv>
#include <ctime>

namespace cvgate::http::session_detail {
namespace {

// Whether the server renders this field itself, so that the response's own is left out. The
// request id's header is matched by name whatever it is, a name Beast knows included.
bool owned_by_server(const ServerOptions& options, const Stamp& stamp, Field name, std::string_view text) {
    if (!options.request_id_header.empty() && !stamp.request_id.empty() &&
        boost::beast::iequals(text, options.request_id_header))
        return true;
    switch (name) {
        case Field::date:
        case Field::content_length:
        case Field::transfer_encoding:
        case Field::connection:
            return true;
        case Field::server:
            return !options.server_header.empty();
        case Field::unknown:
            return !stamp.trace.empty() && boost::beast::iequals(text, "traceparent");
        default:
            return false;
    }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

}  // namespace

void render_head(const ServerOptions& options, const Stamp& stamp, const Response& response,
                 std::string& out) {
    out.clear();
    out += "HTTP/1.1 ";
    const unsigned status = response.result_int();
    out += static_cast<char>('0' + status / 100 % 10);
    out += static_cast<char>('0' + status / 10 % 10);
    out += static_cast<char>('0' + status % 10);
    out += ' ';
    out += response.reason();
    out += "\r\n";
    for (const auto& field : response)
        if (!owned_by_server(options, stamp, field.name(), field.name_string()))
            append_field(out, field.name_string(), field.value());
    append_field(out, "Date", http_date());
    if (!options.server_header.empty()) append_field(out, "Server", options.server_header);
    if (!options.request_id_header.empty() && !stamp.request_id.empty())
        append_field(out, options.request_id_header, stamp.request_id);
    if (!stamp.trace.empty()) {
        out += "traceparent: ";
        stamp.trace.append_traceparent(out);
        out += "\r\n";
    }
    if (!stamp.keep_alive) out += "Connection: close\r\n";
    std::array<char, 24> length{};
    const auto end = std::to_chars(length.data(), length.data() + length.size(), response.body().size()).ptr;
    append_field(out, "Content-Length", {length.data(), static_cast<std::size_t>(end - length.data())});
    out += "\r\n";
}

std::string_view http_date() {
    thread_local std::time_t cached_second = 0;
    thread_local std::array<char, 40> text{};
    thread_local std::size_t length = 0;
    const std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    return {text.data(), length};
}

}  // namespace cvgate::http::session_detail
