#pragma once
// What identifies a request's content for an Idempotency-Key: a retry with the same key must
// carry the same request. A SHA-1 of every piece fed, each length-prefixed so that no two
// different sequences of pieces hash the same way by running together.

#include <cstdint>
#include <string>
#include <string_view>

namespace cvgate::jobs {

class Fingerprint {
public:
    Fingerprint();
    ~Fingerprint();
    Fingerprint(const Fingerprint&) = delete;
    Fingerprint& operator=(const Fingerprint&) = delete;

    // A whole piece (a field name, a value, a file name).
    void add(std::string_view piece);
    // A piece that arrives in chunks: data()... until the next add() or hex().
    void data(std::string_view chunk);
    // 40 hex digits; no more pieces after this.
    std::string hex();

private:
    void close_stream();

    struct Hash;
    Hash* hash_;
    bool streaming_ = false;
    std::uint64_t streamed_ = 0;
};

}  // namespace cvgate::jobs
