#pragma once
// One uploaded CV: its client-given name made harmless, and the streaming checks that decide
// whether it is accepted (type by extension AND content, size).

#include <cvgate/jobs/zip_entry_finder.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::jobs {

// The client's file name reduced to its last path component (`/` and `\` both separate),
// control characters and invalid UTF-8 removed, at most 255 bytes of valid UTF-8: a longer
// name loses the end of its stem (whole code points), never its extension (the part from the
// last '.', when at most 32 bytes), which decides the file's type. Never used to build a
// path: only reported back and stored.
std::string clean_filename(std::string_view raw);

enum class CvType { pdf, docx };
std::string_view extension_of(CvType type) noexcept;  // ".pdf" / ".docx"

// Checks one file part while it streams: the extension decides the expected type, the first
// bytes must match it (`%PDF-`; a ZIP `PK\x03\x04` with a local header or central directory
// entry named `word/document.xml`, see ZipEntryFinder), and the size must stay within
// [1, max_size]. Memory: a few dozen bytes whatever the file size.
class CvFileCheck {
public:
    CvFileCheck(std::string_view filename, std::uint64_t max_size);

    // False once the file is known to be rejected: the caller stops storing its data.
    bool feed(std::string_view chunk);
    // After the last chunk: the accepted type, or nullopt with reason() set.
    std::optional<CvType> finish();

    const std::string& reason() const noexcept { return reason_; }
    std::uint64_t size() const noexcept { return size_; }
    std::optional<CvType> declared_type() const noexcept { return type_; }

private:
    void reject(std::string reason);

    std::optional<CvType> type_;
    std::uint64_t max_size_;
    std::uint64_t size_ = 0;
    std::string head_;  // the first bytes, for the magic number
    ZipEntryFinder document_xml_{"word/document.xml"};
    bool rejected_ = false;
    std::string reason_;
};

}  // namespace cvgate::jobs
