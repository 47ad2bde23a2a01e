#pragma once
// What the listener and the connection sessions share (not a public header): the server's
// state, the read buffer's bound, and how a connection is started. The session itself is
// session_impl.hpp; a request's body, request_body_impl.hpp; a response's head,
// response_head.hpp; the stream it runs on, stream_control.hpp.

#include <cvgate/http/idle_set.hpp>
#include <cvgate/http/server.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace cvgate::http {

struct Server::Shared {
    Shared(ServerOptions o, const Router& r) : options{std::move(o)}, router{&r} {}
    ServerOptions options;
    const Router* router;
    std::uint16_t port = 0;
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> in_flight{0};  // requests between their head and their answer
    std::atomic<std::size_t> refusing{0};   // connections being told "busy"
    // The largest read buffer a connection has held, for the fuzz target's "bounded" check.
    std::atomic<std::size_t> largest_read_buffer{0};
};

// Beast reads up to 64 KiB into a connection's buffer at a time. The buffer's cap is the
// head limit plus one such read: whatever a client sends — a head, a chunk line with
// endless extensions, a trailer section that never ends — a connection never holds more.
inline constexpr std::size_t parse_window = 64 * 1024;

// How a connection over the cap is told "busy": the 503 goes through the same hooks as
// every answer, so it can echo the client's correlation id and carry CORS headers, which
// takes reading the head; past a few such connections at once, it is sent unread.
inline constexpr std::size_t max_refusals_reading_head = 64;

enum class Admission { serve, refuse_busy };
// A TCP connection's session (the generic one is serve_connection, session_impl.hpp).
boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket, IdleSet& idle,
                                         std::shared_ptr<Server::Shared> shared,
                                         Admission admission = Admission::serve);

}  // namespace cvgate::http
