#pragma once
// Finds, in a ZIP archive that streams in chunk by chunk, a structurally valid entry with a
// given name, without buffering the archive. Memory: a few dozen bytes whatever its size.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cvgate::jobs {

// Walks the archive's records from its first byte: local file headers (30-byte fixed part,
// name, extra field, then the entry's data, skipped by its compressed size), central directory
// entries (46-byte fixed part, name, extra field, comment) and the end of central directory
// record, after which nothing is read. An entry whose size is not in its local header (the
// data-descriptor flag, bit 3, or a ZIP64 size of 0xffffffff) is followed by finding the next
// local or central header signature in its data; from then on, bytes that are not a record
// where one should start are searched for the next signature too, instead of ending the walk.
//
// found() once a local header or central directory entry named exactly `name`, with a
// compression method a DOCX may use (stored or deflated), has arrived whole (fixed part, name,
// extra field and, for a central entry, its comment). The name in an entry's data or in a
// comment is never a match, and neither is a header cut short by the end of the archive.
// Chunks may be cut anywhere: the result depends only on the bytes.
class ZipEntryFinder {
public:
    explicit ZipEntryFinder(std::string_view name) noexcept : name_{name} {}  // name outlives this

    void feed(std::string_view chunk) noexcept;
    bool found() const noexcept { return found_; }

private:
    enum class Phase { signature, fixed, name, header_rest, data, scan, done };

    void record_complete() noexcept;
    void begin_name(std::size_t length) noexcept;
    void header_complete() noexcept;
    void data_complete() noexcept;
    void lost() noexcept;  // bytes where a record should start are not one

    std::string_view name_;
    Phase phase_ = Phase::signature;
    unsigned char fixed_[46] = {};
    std::size_t have_ = 0;      // bytes of fixed_ filled
    std::size_t need_ = 4;      // bytes of fixed_ the current record's fixed part holds
    std::uint64_t left_ = 0;    // bytes left in the name, the rest of the header, or the data
    std::uint64_t rest_ = 0;    // the header's extra field (and comment) after its name
    std::uint64_t data_ = 0;    // the entry's data, skipped once its header is complete
    std::uint32_t window_ = 0;  // the last four bytes seen while scanning
    std::size_t name_at_ = 0;
    bool name_matches_ = false;
    bool method_ok_ = false;
    bool scan_after_data_ = false;
    bool lenient_ = false;  // a signature search has begun: lost records resume it
    bool found_ = false;
};

}  // namespace cvgate::jobs
