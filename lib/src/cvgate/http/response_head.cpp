#include <cvgate/http/response_head.hpp>

#include <array>
#include <ctime>

namespace cvgate::http::session_detail {

void stamp(const ServerOptions& options, const RequestHead& head, std::string_view request_id,
           const ids::TraceContext& trace, Response& response, bool keep_alive) {
    response.version(11);
    response.set(Field::date, http_date());
    if (options.on_response) options.on_response(head, request_id, trace, response);
    response.keep_alive(keep_alive);
    response.prepare_payload();
}

void render_head(const Response& response, std::string& out) {
    out.clear();
    const unsigned version = response.version();
    out += "HTTP/";
    out += static_cast<char>('0' + version / 10 % 10);
    out += '.';
    out += static_cast<char>('0' + version % 10);
    out += ' ';
    const unsigned status = response.result_int();
    out += static_cast<char>('0' + status / 100 % 10);
    out += static_cast<char>('0' + status / 10 % 10);
    out += static_cast<char>('0' + status % 10);
    out += ' ';
    out += response.reason();
    out += "\r\n";
    for (const auto& field : response) {
        out += field.name_string();
        out += ": ";
        out += field.value();
        out += "\r\n";
    }
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
