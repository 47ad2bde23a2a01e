#pragma once
// The connections of one I/O thread that wait for (the first bytes of) their next request:
// what a shutdown closes at the end of its drain (not a public header).

namespace cvgate::http {

// An intrusive list, so that parking a connection allocates nothing. Touched only from its
// I/O thread.
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

}  // namespace cvgate::http
