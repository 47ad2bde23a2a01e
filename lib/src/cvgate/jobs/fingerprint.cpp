#include <cvgate/jobs/fingerprint.hpp>

#include <boost/uuid/detail/sha1.hpp>

#include <cstdio>

namespace cvgate::jobs {

struct Fingerprint::Hash {
    boost::uuids::detail::sha1 sha1;
};

Fingerprint::Fingerprint() : hash_{new Hash} {}
Fingerprint::~Fingerprint() { delete hash_; }

void Fingerprint::add(std::string_view piece) {
    close_stream();
    const std::uint64_t size = piece.size();
    hash_->sha1.process_bytes("P", 1);
    hash_->sha1.process_bytes(&size, sizeof size);
    hash_->sha1.process_bytes(piece.data(), piece.size());
}

void Fingerprint::data(std::string_view chunk) {
    // Chunk boundaries depend on the network, not on the request: only the bytes count.
    if (!streaming_) {
        hash_->sha1.process_bytes("D", 1);
        streaming_ = true;
        streamed_ = 0;
    }
    hash_->sha1.process_bytes(chunk.data(), chunk.size());
    streamed_ += chunk.size();
}

void Fingerprint::close_stream() {
    if (!streaming_) return;
    hash_->sha1.process_bytes(&streamed_, sizeof streamed_);
    streaming_ = false;
}

std::string Fingerprint::hex() {
    close_stream();
    boost::uuids::detail::sha1::digest_type digest;
    hash_->sha1.get_digest(digest);
    std::string out;
    char buf[9];
    for (unsigned word : digest) {
        std::snprintf(buf, sizeof buf, "%08x", word);
        out += buf;
    }
    return out;
}

}  // namespace cvgate::jobs
