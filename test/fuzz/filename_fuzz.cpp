// libFuzzer target for an uploaded CV's name and streaming checks (jobs/cv_file).
//
// Input layout: byte 0 picks the declared file name (low 3 bits) and the size limit (high 5
// bits), bytes 1-2 seed the chunking, byte 3 splits the rest into a raw file name and the
// file's content.
//
// clean_filename(), on the raw name and on the whole rest: valid UTF-8, at most 255 bytes, no
// '/', '\', control character (< 0x20, 0x7f), not "." or ".."; idempotent; and exactly the
// last path component with invalid bytes and control characters dropped, cut at a character
// boundary when longer than 255 bytes.
//
// CvFileCheck: the content fed whole, in seeded random chunks (some empty) and one byte at a
// time gives the same verdict and the same reason; feed() stays false once false; and the
// verdict is the one the header describes (extension, magic number, docx entry name, size).

#include "cvgate/jobs/cv_file.hpp"
#include "cvgate/text/utf8.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace jobs = cvgate::jobs;

[[noreturn]] void broken(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "filename_fuzz: broken promise: %s\n", what);
    if (!detail.empty()) std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
    std::abort();
}

void require(bool ok, const char* what, std::string_view detail = {}) {
    if (!ok) broken(what, detail);
}

bool is_control(std::string_view sequence) {
    if (sequence.size() != 1) return false;
    const auto c = static_cast<unsigned char>(sequence[0]);
    return c < 0x20 || c == 0x7f;
}

// The header's description, spelled out: the last component, with every byte that starts no
// valid UTF-8 sequence and every control character dropped (no length limit yet).
std::string reference_name(std::string_view raw) {
    const auto slash = raw.find_last_of("/\\");
    if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
    std::string out;
    while (!raw.empty()) {
        const std::size_t n = cvgate::text::utf8_sequence_length(raw);
        if (n == 0) {
            raw.remove_prefix(1);
            continue;
        }
        if (!is_control(raw.substr(0, n))) out.append(raw.substr(0, n));
        raw.remove_prefix(n);
    }
    return out;
}

void check_clean_filename(std::string_view raw) {
    const std::string clean = jobs::clean_filename(raw);
    require(cvgate::text::utf8_code_points(clean).has_value(), "clean_filename output is not UTF-8", clean);
    require(clean.size() <= 255, "clean_filename output longer than 255 bytes");
    require(clean.find_first_of("/\\") == std::string::npos, "clean_filename output has a separator", clean);
    require(std::none_of(clean.begin(), clean.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }),
            "clean_filename output has a control character", clean);
    require(clean != "." && clean != "..", "clean_filename output is . or ..");
    require(jobs::clean_filename(clean) == clean, "clean_filename is not idempotent", clean);

    // Nothing more is removed than the header says; a name too long loses the end of its stem,
    // whole characters only, as few as needed, and keeps its extension (at most 32 bytes).
    const std::string full = reference_name(raw);
    if (full == "." || full == "..") {
        require(clean.empty(), "clean_filename kept a . or .. name", clean);
        return;
    }
    if (full.size() <= 255) {
        require(clean == full, "clean_filename changed a name that fitted", clean);
        return;
    }
    const auto dot = full.rfind('.');
    const bool has_extension = dot != std::string::npos && dot > 0 && full.size() - dot <= 32;
    const std::string_view extension =
        has_extension ? std::string_view{full}.substr(dot) : std::string_view{};
    const std::string_view stem = std::string_view{full}.substr(0, has_extension ? dot : full.size());
    require(std::string_view{clean}.ends_with(extension), "clean_filename lost the extension", clean);
    const std::string_view kept = std::string_view{clean}.substr(0, clean.size() - extension.size());
    require(stem.starts_with(kept), "clean_filename output is not the cleaned stem", clean);
    const std::size_t next = cvgate::text::utf8_sequence_length(stem.substr(kept.size()));
    require(kept.size() + next + extension.size() > 255, "clean_filename cut more than needed", clean);
}

struct Outcome {
    std::optional<jobs::CvType> verdict;
    std::string reason;
    bool operator==(const Outcome&) const = default;
};

// Feeds `content` in chunks of `sizes` (cycled; empty = all at once; a 0 size feeds an empty chunk).
// Every chunk is its own allocation of exactly its size, so ASan sees any read past it.
Outcome run(std::string_view filename, std::uint64_t max_size, std::string_view content,
            const std::vector<std::size_t>& sizes) {
    jobs::CvFileCheck check{filename, max_size};
    bool refused = false;
    std::size_t at = 0;
    std::size_t next = 0;
    while (at < content.size()) {
        const std::size_t want = sizes.empty() ? content.size() : sizes[next++ % sizes.size()];
        const std::size_t n = std::min(want, content.size() - at);
        auto chunk = std::make_unique<char[]>(n + 1);  // never zero-sized
        std::memcpy(chunk.get(), content.data() + at, n);
        at += n;
        const bool more = check.feed(std::string_view{chunk.get(), n});
        require(!(refused && more), "feed() true again after false");
        refused = refused || !more;
    }
    const std::optional<jobs::CvType> verdict = check.finish();
    require(verdict.has_value() == check.reason().empty(), "verdict and reason disagree", check.reason());
    require(!refused || !verdict, "accepted after feed() said false");
    require(!verdict || verdict == check.declared_type(), "accepted as another type than declared");
    const std::optional<jobs::CvType> again = check.finish();
    require(again == verdict, "finish() changes its mind");
    return Outcome{verdict, check.reason()};
}

std::string lower_extension(std::string_view name) {
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return {};
    std::string ext{name.substr(dot)};
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

std::uint32_t le(std::string_view z, std::size_t at, std::size_t n) {
    std::uint32_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = v << 8 | static_cast<unsigned char>(z[at + i]);
    return v;
}

// ZipEntryFinder's rule (jobs/zip_entry_finder.hpp), read off the whole archive at once: walk
// the records from the start; a local header or central directory entry named
// word/document.xml, stored or deflated, that is whole names it; an entry without its size
// (bit 3, or 0xffffffff) is followed by searching the next header signature, and so is, from
// then on, anything that is not a record where one should start.
bool names_document_xml(std::string_view z) {
    const std::string_view local{"PK\x03\x04", 4};
    const std::string_view central{"PK\x01\x02", 4};
    const auto next_signature = [&](std::size_t from) {
        const std::size_t a = from > z.size() ? std::string_view::npos : z.find(local, from);
        const std::size_t b = from > z.size() ? std::string_view::npos : z.find(central, from);
        return std::min(a, b);
    };
    bool lenient = false;
    std::size_t at = 0;
    while (at != std::string_view::npos && at + 4 <= z.size()) {
        const std::string_view signature = z.substr(at, 4);
        const bool is_local = signature == local;
        if (!is_local && signature != central) {
            // The end of central directory (or its ZIP64 form): every entry has been seen.
            if (signature == std::string_view{"PK\x05\x06", 4} ||
                signature == std::string_view{"PK\x06\x06", 4})
                return false;
            if (!lenient) return false;
            at = next_signature(at + 1);
            continue;
        }
        const std::size_t fixed = is_local ? 30 : 46;
        if (at + fixed > z.size()) return false;
        const std::size_t name_length = le(z, at + (is_local ? 26 : 28), 2);
        const std::size_t rest =
            is_local ? le(z, at + 28, 2) : std::size_t{le(z, at + 30, 2)} + le(z, at + 32, 2);
        const std::size_t method = le(z, at + (is_local ? 8 : 10), 2);
        const std::size_t header_end = at + fixed + name_length + rest;
        if (header_end > z.size()) return false;
        if (z.substr(at + fixed, name_length) == "word/document.xml" && (method == 0 || method == 8))
            return true;
        if (!is_local) {
            at = header_end;
            continue;
        }
        const std::uint32_t compressed = le(z, at + 18, 4);
        const bool scan = (le(z, at + 6, 2) & 8) != 0 || compressed == 0xffffffff;
        const std::size_t data_end = header_end + (compressed == 0xffffffff ? 0 : compressed);
        if (scan) {
            lenient = true;
            at = next_signature(data_end);
        } else {
            at = data_end;
        }
    }
    return false;
}

// What the header says decides acceptance.
std::optional<jobs::CvType> expected_verdict(std::string_view filename, std::uint64_t max_size,
                                             std::string_view content) {
    const std::string ext = lower_extension(filename);
    if (content.empty() || content.size() > max_size) return std::nullopt;
    if (ext == ".pdf") return content.starts_with("%PDF-") ? std::optional{jobs::CvType::pdf} : std::nullopt;
    if (ext != ".docx") return std::nullopt;
    if (!content.starts_with(std::string_view{"PK\x03\x04", 4})) return std::nullopt;
    if (!names_document_xml(content)) return std::nullopt;
    return jobs::CvType::docx;
}

constexpr std::string_view names[] = {"cv.pdf", "CV.PDF", "resume.docx", "x.DoCx", "cv.txt", "noext", ".pdf"};

// Small limits put the size check in the middle of the magic number and the docx entry name.
constexpr std::uint64_t max_sizes[] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,   10,  16,  17,  18,   20,        21,
    22, 23, 24, 30, 32, 40, 48, 63, 64, 100, 128, 255, 256, 1024, 10u << 20, UINT64_MAX,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 4) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(bytes) + 4, size - 4);
    const std::size_t split = std::min<std::size_t>(bytes[3], rest.size());
    const std::string_view raw_name = rest.substr(0, split);
    const std::string_view content = rest.substr(split);

    check_clean_filename(rest);
    check_clean_filename(raw_name);

    // Intake hands the check the cleaned name.
    const std::size_t pick = bytes[0] & 7;
    const std::string filename =
        pick < std::size(names) ? std::string{names[pick]} : jobs::clean_filename(raw_name);
    const std::uint64_t max_size = max_sizes[bytes[0] >> 3];

    std::uint32_t seed = bytes[1] | (static_cast<std::uint32_t>(bytes[2]) << 8) | 1u;
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 16; ++i) {
        seed ^= seed << 13;  // xorshift32: the same seed gives the same cuts
        seed ^= seed >> 17;
        seed ^= seed << 5;
        sizes.push_back((seed & 0x300) == 0 ? 0 : (seed & 0x400) ? 1 + seed % 41 : 1 + seed % 5);
    }
    sizes[0] = 1 + sizes[0];  // at least one chunk that is not empty

    const Outcome whole = run(filename, max_size, content, {});
    const Outcome chunked = run(filename, max_size, content, sizes);
    const Outcome bytewise = run(filename, max_size, content, {1});
    if (!(chunked == whole))
        broken("chunked check differs from whole", chunked.reason + " / " + whole.reason);
    if (!(bytewise == whole))
        broken("bytewise check differs from whole", bytewise.reason + " / " + whole.reason);
    require(whole.verdict == expected_verdict(filename, max_size, content),
            "verdict is not the documented one", whole.reason);
    return 0;
}
