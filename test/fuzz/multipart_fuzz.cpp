// libFuzzer target for the streaming multipart parser.
//
// Input layout: byte 0 picks the boundary, byte 1 the limits, bytes 2-3 seed the
// chunking; the rest is the body. Each body is parsed whole, in seeded random chunks,
// and one byte at a time; the three must agree event for event (part data compared as
// concatenated bytes), and the event order must keep the parser's promises.

#include "cvgate/http/multipart.hpp"

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

namespace mp = cvgate::http::multipart;
using Event = mp::Parser::Event;

// Short boundaries let the fuzzer find delimiters quickly; the long one is what
// browsers send. The invalid ones check that a bad boundary fails cleanly.
constexpr std::string_view boundaries[] = {
    "B", "ab", "--", "a b", "XyZ", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "", "a\rb",
};

struct Part {
    std::string name;
    std::optional<std::string> filename;
    std::string content_type;
    std::string data;
    bool complete = false;
    bool operator==(const Part&) const = default;
};

struct Outcome {
    std::vector<Part> parts;
    mp::Error error = mp::Error::none;
    bool done = false;
    std::size_t parts_seen = 0;
    bool operator==(const Outcome&) const = default;
};

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "multipart_fuzz: broken promise: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what) {
    if (!ok) broken(what);
}

// Every chunk gets an allocation of exactly its size, freed once the parser asks for
// more, so ASan reports any read past a chunk or through a stale view.
Outcome parse(std::string_view boundary, mp::Limits limits, std::string_view body,
              const std::vector<std::size_t>& sizes) {
    mp::Parser parser{std::string(boundary), limits};
    Outcome out;
    std::size_t at = 0;
    std::size_t next_size = 0;
    std::unique_ptr<char[]> chunk;
    std::size_t chunk_size = 0;
    bool finished = false;
    for (;;) {
        const Event e = parser.next();
        switch (e) {
            case Event::need_more: {
                require(!finished, "need_more after finish()");
                chunk.reset();
                if (at == body.size()) {
                    parser.finish();
                    finished = true;
                    break;
                }
                const std::size_t want = sizes.empty() ? body.size() : sizes[next_size++ % sizes.size()];
                chunk_size = std::min(want, body.size() - at);
                chunk.reset(new char[chunk_size]);
                std::memcpy(chunk.get(), body.data() + at, chunk_size);
                at += chunk_size;
                parser.feed(std::string_view(chunk.get(), chunk_size));
                break;
            }
            case Event::part_begin: {
                require(out.parts.empty() || out.parts.back().complete, "part_begin inside a part");
                require(parser.parts_seen() == out.parts.size() + 1, "parts_seen() off");
                require(parser.parts_seen() <= limits.max_parts, "more parts than max_parts");
                const mp::PartHeaders& h = parser.headers();
                out.parts.push_back(Part{h.name, h.filename, h.content_type, {}, false});
                break;
            }
            case Event::part_data: {
                require(!out.parts.empty() && !out.parts.back().complete, "part_data outside a part");
                const std::string_view d = parser.data();
                require(!d.empty(), "empty part_data");
                // Content comes from the chunk or from the hold-back, which is shorter than
                // the delimiter.
                const bool in_chunk =
                    chunk && d.data() >= chunk.get() && d.data() + d.size() <= chunk.get() + chunk_size;
                require(in_chunk || d.size() < boundary.size() + 4, "part_data larger than its sources");
                out.parts.back().data.append(d);
                break;
            }
            case Event::part_end:
                require(!out.parts.empty() && !out.parts.back().complete, "part_end outside a part");
                out.parts.back().complete = true;
                break;
            case Event::done:
                require(parser.error() == mp::Error::none, "done with an error");
                require(out.parts.empty() || out.parts.back().complete, "done inside a part");
                out.done = true;
                out.parts_seen = parser.parts_seen();
                // Nothing comes after done, whatever else arrives.
                parser.feed("\r\n--B\r\nContent-Disposition: form-data; name=x\r\n\r\n");
                for (int i = 0; i < 3; ++i) require(parser.next() == Event::done, "done not sticky");
                return out;
            case Event::error:
                require(parser.error() != mp::Error::none, "error without an Error");
                require(!mp::describe(parser.error()).empty(), "error without a sentence");
                out.error = parser.error();
                out.parts_seen = parser.parts_seen();
                for (int i = 0; i < 3; ++i) require(parser.next() == Event::error, "error not sticky");
                return out;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 4) return 0;
    const std::string_view boundary = boundaries[bytes[0] % std::size(boundaries)];
    mp::Limits limits;
    if (bytes[1] & 1) limits.max_part_header_bytes = 16 + bytes[1] % 64;
    if (bytes[1] & 2) limits.max_parts = bytes[1] % 5;
    std::uint32_t seed = bytes[2] | (static_cast<std::uint32_t>(bytes[3]) << 8) | 1u;
    const std::string_view body(reinterpret_cast<const char*>(bytes) + 4, size - 4);

    const Outcome whole = parse(boundary, limits, body, {});

    std::vector<std::size_t> sizes;
    for (int i = 0; i < 16; ++i) {
        seed ^= seed << 13;  // xorshift32: cheap, and the same seed gives the same cuts
        seed ^= seed >> 17;
        seed ^= seed << 5;
        // Mostly tiny chunks, where delimiters get cut; now and then larger ones.
        sizes.push_back((seed & 0x100) ? 1 + seed % 97 : 1 + seed % 7);
    }
    require(parse(boundary, limits, body, sizes) == whole, "chunked parse differs from whole");
    require(parse(boundary, limits, body, {1}) == whole, "bytewise parse differs from whole");

    // The Content-Type parser sees the same bytes, for crashes and for its promise.
    if (const auto b = mp::boundary_from_content_type(body)) {
        require(!b->empty() && b->size() <= 70, "boundary_from_content_type length");
    }
    return 0;
}
