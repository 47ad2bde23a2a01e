#include <cvgate/jobs/cv_file.hpp>

#include <cvgate/text/utf8.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace cvgate::jobs {
namespace {

constexpr std::string_view pdf_magic = "%PDF-";
constexpr std::string_view zip_magic{"PK\x03\x04", 4};
constexpr std::size_t max_filename_bytes = 255;
constexpr std::size_t max_extension_bytes = 32;

std::string lower_extension(std::string_view name) {
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return {};
    std::string ext{name.substr(dot)};
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

std::string human_size(std::uint64_t bytes) {
    if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MB";
    if (bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KB";
    return std::to_string(bytes) + " bytes";
}

}  // namespace

std::string clean_filename(std::string_view raw) {
    auto slash = raw.find_last_of("/\\");
    if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
    std::string out;
    while (!raw.empty()) {
        const std::size_t n = text::utf8_sequence_length(raw);
        if (n == 0) {
            raw.remove_prefix(1);  // invalid byte: dropped
            continue;
        }
        const auto c = static_cast<unsigned char>(raw[0]);
        const bool control = n == 1 && (c < 0x20 || c == 0x7f);
        if (!control) out.append(raw.substr(0, n));
        raw.remove_prefix(n);
    }
    if (out == "." || out == "..") out.clear();
    if (out.size() <= max_filename_bytes) return out;
    // Too long: the stem gives way, so that the extension (which decides the file's type)
    // survives; a "extension" too long to be one is cut like the rest.
    const auto dot = out.rfind('.');
    const bool has_extension = dot != std::string::npos && dot > 0 && out.size() - dot <= max_extension_bytes;
    const std::string extension = has_extension ? out.substr(dot) : std::string{};
    const std::string_view stem = std::string_view{out}.substr(0, has_extension ? dot : out.size());
    std::size_t keep = 0;  // whole code points of the stem that fit
    while (keep < stem.size()) {
        const std::size_t n = text::utf8_sequence_length(stem.substr(keep));
        if (keep + n + extension.size() > max_filename_bytes) break;
        keep += n;
    }
    return std::string{stem.substr(0, keep)} + extension;
}

std::string_view extension_of(CvType type) noexcept { return type == CvType::pdf ? ".pdf" : ".docx"; }

CvFileCheck::CvFileCheck(std::string_view filename, std::uint64_t max_size) : max_size_{max_size} {
    const std::string ext = lower_extension(filename);
    if (ext == ".pdf")
        type_ = CvType::pdf;
    else if (ext == ".docx")
        type_ = CvType::docx;
    else
        reject("Invalid file type '" + (ext.empty() ? std::string{"(none)"} : ext) +
               "'. Allowed: .pdf, .docx");
}

void CvFileCheck::reject(std::string reason) {
    if (rejected_) return;
    rejected_ = true;
    reason_ = std::move(reason);
}

bool CvFileCheck::feed(std::string_view chunk) {
    if (rejected_) return false;
    // The bytes within the limit are checked before the size, so that the first bad byte
    // gives the reason however the file is cut into chunks (size_ <= max_size_ until rejected).
    const bool too_big = chunk.size() > max_size_ - size_;
    const std::string_view within = too_big ? chunk.substr(0, max_size_ - size_) : chunk;
    size_ += chunk.size();
    if (head_.size() < 5) {
        head_.append(within.substr(0, 5 - head_.size()));
        const std::string_view magic = type_ == CvType::pdf ? pdf_magic : zip_magic;
        const std::size_t n = std::min(head_.size(), magic.size());
        if (std::string_view{head_}.substr(0, n) != magic.substr(0, n)) {
            reject(std::string{"File content is not a valid "} + (type_ == CvType::pdf ? "PDF" : "DOCX") +
                   " document");
            return false;
        }
    }
    if (too_big) {
        reject("File exceeds the maximum size of " + human_size(max_size_));
        return false;
    }
    if (type_ == CvType::docx) document_xml_.feed(chunk);
    return true;
}

std::optional<CvType> CvFileCheck::finish() {
    if (!rejected_) {
        if (size_ == 0)
            reject("File is empty");
        else if (head_.size() < (type_ == CvType::pdf ? pdf_magic.size() : zip_magic.size()))
            reject(std::string{"File content is not a valid "} + (type_ == CvType::pdf ? "PDF" : "DOCX") +
                   " document");
        else if (type_ == CvType::docx && !document_xml_.found())
            reject("File content is not a valid DOCX document (no word/document.xml)");
    }
    if (rejected_) return std::nullopt;
    return type_;
}

}  // namespace cvgate::jobs
