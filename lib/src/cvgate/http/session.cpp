// The server's sessions: the generic session (session_impl.hpp) on a TCP socket whose
// operations time out (beast::tcp_stream).

#include <cvgate/http/session.hpp>
#include <cvgate/http/session_impl.hpp>

#include <boost/beast/core/tcp_stream.hpp>

namespace cvgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

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
    // The socket is in non-blocking mode (run_session): this returns `would_block` at once.
    static std::size_t try_write(beast::tcp_stream& s, const std::array<asio::const_buffer, 2>& out,
                                 boost::system::error_code& ec) noexcept {
        return s.socket().write_some(out, ec);
    }
};

template asio::awaitable<void> serve_connection<beast::tcp_stream>(beast::tcp_stream, IdleSet&,
                                                                   std::shared_ptr<Server::Shared>,
                                                                   Admission);

asio::awaitable<void> run_session(tcp::socket socket, IdleSet& idle, std::shared_ptr<Server::Shared> shared,
                                  Admission admission) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay{true}, ignored);
    socket.non_blocking(true, ignored);  // for try_write above; asynchronous operations are unaffected
    return serve_connection(beast::tcp_stream{std::move(socket)}, idle, std::move(shared), admission);
}

}  // namespace cvgate::http
