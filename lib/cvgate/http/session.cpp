#include <cvgate/http/session.hpp>
#include <cvgate/http/session_impl.hpp>

#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <ctime>

namespace cvgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// The server's stream: a TCP socket whose operations time out (beast::tcp_stream).
template <>
struct StreamControl<beast::tcp_stream> {
    static void expires_after(beast::tcp_stream& s, std::chrono::steady_clock::duration d) {
        s.expires_after(d);
    }
    static void expires_never(beast::tcp_stream& s) { s.expires_never(); }
    static std::size_t available(const beast::tcp_stream& s) noexcept {
        boost::system::error_code ec;
        return s.socket().available(ec);
    }
    static void shutdown_send(beast::tcp_stream& s) noexcept {
        boost::system::error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    static void shutdown_both(beast::tcp_stream& s) noexcept {
        boost::system::error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    static void cancel(beast::tcp_stream& s) noexcept {
        boost::system::error_code ignored;
        s.socket().cancel(ignored);
    }
};

namespace session_detail {

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

bool is_disconnect(const boost::system::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == beast::error::timeout || ec == asio::error::operation_aborted ||
           ec == bhttp::error::partial_message;
}

}  // namespace session_detail

template asio::awaitable<void> serve_connection<beast::tcp_stream>(beast::tcp_stream, IdleSet&,
                                                                   std::shared_ptr<Server::Shared>,
                                                                   Admission);

asio::awaitable<void> run_session(tcp::socket socket, IdleSet& idle, std::shared_ptr<Server::Shared> shared,
                                  Admission admission) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay{true}, ignored);
    return serve_connection(beast::tcp_stream{std::move(socket)}, idle, std::move(shared), admission);
}

}  // namespace cvgate::http
