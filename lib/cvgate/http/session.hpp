#pragma once
// Internals shared by the listener and the connection sessions (not a public header).

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

// The connections of one I/O thread that wait for (the first bytes of) their next request:
// what a shutdown closes at the end of its drain. An intrusive list, so that parking a
// connection allocates nothing. Touched only from its I/O thread.
class IdleSet {
public:
    struct Node {
        Node* prev = nullptr;
        Node* next = nullptr;
        void* stream = nullptr;                    // the connection's stream,
        void (*cancel)(void*) noexcept = nullptr;  // and how to cancel its pending read
        bool linked = false;
    };

    void insert(Node& node) noexcept {
        node.prev = nullptr;
        node.next = head_;
        if (head_) head_->prev = &node;
        head_ = &node;
        node.linked = true;
    }
    void erase(Node& node) noexcept {
        if (!node.linked) return;
        if (node.prev)
            node.prev->next = node.next;
        else
            head_ = node.next;
        if (node.next) node.next->prev = node.prev;
        node.linked = false;
    }
    // Cancels the pending read of every idle connection: each session then ends. A read
    // that has already completed is not undone: its request is served. Connections that
    // would become idle later close instead (closed()).
    void close_all() noexcept {
        closed_ = true;
        for (Node* n = head_; n; n = n->next) n->cancel(n->stream);
    }
    bool closed() const noexcept { return closed_; }

private:
    Node* head_ = nullptr;
    bool closed_ = false;
};

enum class Admission { serve, refuse_busy };
// A TCP connection's session (the generic one is serve_connection, session_impl.hpp).
boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket, IdleSet& idle,
                                         std::shared_ptr<Server::Shared> shared,
                                         Admission admission = Admission::serve);

}  // namespace cvgate::http
