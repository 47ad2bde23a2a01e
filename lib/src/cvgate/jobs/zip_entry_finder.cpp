#include <cvgate/jobs/zip_entry_finder.hpp>

#include <algorithm>
#include <cstring>

namespace cvgate::jobs {
namespace {

constexpr std::uint32_t local_header = 0x504b0304;    // "PK\3\4", read big-endian
constexpr std::uint32_t central_header = 0x504b0102;  // "PK\1\2"
constexpr std::uint32_t end_of_directory = 0x504b0506;
constexpr std::uint32_t zip64_end_of_directory = 0x504b0606;
constexpr std::size_t local_fixed = 30;
constexpr std::size_t central_fixed = 46;
constexpr std::uint16_t data_descriptor_flag = 1u << 3;
constexpr std::uint32_t zip64_size = 0xffffffff;  // the real size is in the ZIP64 extra field

std::uint32_t signature_of(const unsigned char* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::uint16_t u16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t u32(const unsigned char* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}
// ISO/IEC 29500-2 allows a package's parts only stored or deflated.
bool docx_method(std::uint16_t method) { return method == 0 || method == 8; }

}  // namespace

void ZipEntryFinder::feed(std::string_view chunk) noexcept {
    while (!chunk.empty() && phase_ != Phase::done) {
        switch (phase_) {
            case Phase::signature:
            case Phase::fixed: {
                const std::size_t n = std::min(need_ - have_, chunk.size());
                std::memcpy(fixed_ + have_, chunk.data(), n);
                have_ += n;
                chunk.remove_prefix(n);
                if (have_ == need_) record_complete();
                break;
            }
            case Phase::name: {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk.size()));
                if (name_matches_ && chunk.substr(0, n) != name_.substr(name_at_, n)) name_matches_ = false;
                name_at_ += n;
                left_ -= n;
                chunk.remove_prefix(n);
                if (left_ == 0) {
                    phase_ = Phase::header_rest;
                    left_ = rest_;
                    if (left_ == 0) header_complete();
                }
                break;
            }
            case Phase::header_rest:
            case Phase::data: {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, chunk.size()));
                left_ -= n;
                chunk.remove_prefix(n);
                if (left_ == 0) {
                    if (phase_ == Phase::header_rest)
                        header_complete();
                    else
                        data_complete();
                }
                break;
            }
            case Phase::scan: {
                std::size_t i = 0;
                while (i < chunk.size()) {
                    window_ = window_ << 8 | static_cast<unsigned char>(chunk[i++]);
                    if (window_ == local_header || window_ == central_header) break;
                }
                chunk.remove_prefix(i);
                if (window_ == local_header || window_ == central_header) {
                    fixed_[0] = 'P';
                    fixed_[1] = 'K';
                    fixed_[2] = static_cast<unsigned char>(window_ >> 8);
                    fixed_[3] = static_cast<unsigned char>(window_);
                    window_ = 0;
                    have_ = 4;
                    need_ = 4;
                    record_complete();
                }
                break;
            }
            case Phase::done:
                break;
        }
    }
}

void ZipEntryFinder::record_complete() noexcept {
    if (have_ == 4) {  // just the signature: it says how long the fixed part is
        switch (signature_of(fixed_)) {
            case local_header:
                need_ = local_fixed;
                phase_ = Phase::fixed;
                return;
            case central_header:
                need_ = central_fixed;
                phase_ = Phase::fixed;
                return;
            case end_of_directory:
            case zip64_end_of_directory:
                // Every entry has been seen; what follows (locator, archive comment) names none.
                phase_ = Phase::done;
                return;
            default:
                lost();
                return;
        }
    }
    if (need_ == local_fixed) {
        const std::uint16_t flags = u16(fixed_ + 6);
        const std::uint32_t compressed = u32(fixed_ + 18);
        method_ok_ = docx_method(u16(fixed_ + 8));
        rest_ = u16(fixed_ + 28);
        // Writers that stream (and ZIP64 ones) put the size after the data, not here: the
        // next header is then found by its signature.
        scan_after_data_ = (flags & data_descriptor_flag) != 0 || compressed == zip64_size;
        data_ = compressed == zip64_size ? 0 : compressed;
        begin_name(u16(fixed_ + 26));
    } else {
        method_ok_ = docx_method(u16(fixed_ + 10));
        rest_ = std::uint64_t{u16(fixed_ + 30)} + u16(fixed_ + 32);  // extra field, comment
        scan_after_data_ = false;
        data_ = 0;
        begin_name(u16(fixed_ + 28));
    }
}

void ZipEntryFinder::begin_name(std::size_t length) noexcept {
    name_at_ = 0;
    name_matches_ = length == name_.size();
    left_ = length;
    phase_ = Phase::name;
    if (left_ == 0) {
        phase_ = Phase::header_rest;
        left_ = rest_;
        if (left_ == 0) header_complete();
    }
}

void ZipEntryFinder::header_complete() noexcept {
    if (name_matches_ && method_ok_) {
        found_ = true;
        phase_ = Phase::done;
        return;
    }
    phase_ = Phase::data;
    left_ = data_;
    if (left_ == 0) data_complete();
}

void ZipEntryFinder::data_complete() noexcept {
    if (scan_after_data_) {
        lenient_ = true;
        window_ = 0;
        phase_ = Phase::scan;
        return;
    }
    have_ = 0;
    need_ = 4;
    phase_ = Phase::signature;
}

void ZipEntryFinder::lost() noexcept {
    if (!lenient_) {
        phase_ = Phase::done;  // not a ZIP archive from here on: nothing later is trusted
        return;
    }
    // The four bytes read as a signature may hold the start of the next one.
    window_ = signature_of(fixed_);
    phase_ = Phase::scan;
}

}  // namespace cvgate::jobs
