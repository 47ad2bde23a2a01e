// The server's sessions: the generic session (session_impl.hpp) on a TCP socket whose
// operations time out (timed_socket.hpp).

#include <cvgate/http/session.hpp>
#include <cvgate/http/session_impl.hpp>

#include <cvgate/http/timed_socket.hpp>

namespace cvgate::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

template <>
struct StreamControl<TimedSocket> {
    static void expires_after(TimedSocket& s, std::chrono::steady_clock::duration d) { s.expires_after(d); }
    static void expires_never(TimedSocket& s) { s.expires_never(); }
    static std::size_t available(const TimedSocket& s) noexcept {
        boost::system::error_code ec;
        return s.socket().available(ec);
    }
    static void shutdown_send(TimedSocket& s) noexcept {
        boost::system::error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    static void shutdown_both(TimedSocket& s) noexcept {
        boost::system::error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    static void cancel(TimedSocket& s) noexcept {
        boost::system::error_code ignored;
        s.socket().cancel(ignored);
    }
    // The socket is in non-blocking mode (run_session): this returns `would_block` at once.
    static std::size_t try_write(TimedSocket& s, const std::array<asio::const_buffer, 2>& out,
                                 boost::system::error_code& ec) noexcept {
        return s.socket().write_some(out, ec);
    }
};

template asio::awaitable<void> serve_connection<TimedSocket>(TimedSocket, IdleSet&,
                                                             std::shared_ptr<Server::Shared>, Admission);

asio::awaitable<void> run_session(tcp::socket socket, IdleSet& idle, std::shared_ptr<Server::Shared> shared,
                                  Admission admission) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay{true}, ignored);
    socket.non_blocking(true, ignored);  // for try_write above; asynchronous operations are unaffected
    return serve_connection(TimedSocket{std::move(socket)}, idle, std::move(shared), admission);
}

}  // namespace cvgate::http
