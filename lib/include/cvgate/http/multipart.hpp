#pragma once
// Streaming multipart/form-data parser (RFC 7578 over RFC 2046): fed arbitrary chunks,
// it yields part boundaries and part data without ever buffering a whole part.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::http::multipart {

// The boundary parameter of a `multipart/form-data` Content-Type value (quoted or not,
// 1-70 characters of the RFC 2046 alphabet); nullopt when the type is not
// multipart/form-data or the boundary is missing or invalid.
std::optional<std::string> boundary_from_content_type(std::string_view content_type);

// What the headers of one part say about it.
struct PartHeaders {
    std::string name;                     // Content-Disposition `name`
    std::optional<std::string> filename;  // `filename*` (RFC 5987, decoded) preferred over `filename`
    std::string content_type;             // the part's Content-Type, empty when absent
    bool is_file() const noexcept { return filename.has_value(); }
};

struct Limits {
    std::size_t max_part_header_bytes = 8 * 1024;  // one part's header block, CRLFs included
    std::size_t max_parts = 1000;
};

enum class Error : std::uint8_t {
    none,
    missing_initial_boundary,  // body does not start (after the preamble) with --boundary
    bad_boundary_line,         // junk after a boundary other than transport padding + CRLF
    header_without_colon,
    header_bad_line_ending,  // CR not followed by LF, or bare LF, in a part header block
    header_too_large,
    missing_content_disposition,
    bad_content_disposition,  // not form-data, or no name
    too_many_parts,
    truncated,  // the body ended before the closing boundary
};

// A precise, client-safe sentence for the error (used as the HTTP 400 `detail`).
std::string_view describe(Error e) noexcept;

// Pull parser for one body. part_end vouches for one part's bytes, not for the body: a
// later error (truncation, junk after a boundary) still makes the whole form invalid.
class Parser {
public:
    enum class Event : std::uint8_t {
        need_more,   // all fed input consumed: feed() the next chunk, or finish()
        part_begin,  // headers() describes the new part
        part_data,   // data() holds the next bytes of the current part's content
        part_end,    // the current part's content is complete
        done,        // the closing boundary was seen; the epilogue is ignored
        error,       // error() says why; the parser stays in this state
    };

    // A boundary that boundary_from_content_type would refuse makes next() report
    // missing_initial_boundary: no body can hold its delimiter.
    explicit Parser(std::string boundary, Limits limits = {});

    // Hand the parser the next chunk of the body. Only after next() returned need_more
    // (or before the first next()). The chunk must stay alive until next() returns need_more again.
    void feed(std::string_view chunk);
    // The body has ended: next() will drain what is held back, then return done or error(truncated).
    void finish();

    Event next();

    const PartHeaders& headers() const noexcept;
    // After part_data: the bytes, valid until the next call to next() or feed().
    std::string_view data() const noexcept;
    Error error() const noexcept;
    std::size_t parts_seen() const noexcept;

private:
    enum class State : std::uint8_t {
        preamble,          // discarding bytes until the first delimiter
        boundary_tail,     // after a delimiter: transport padding, then CRLF or "--"
        boundary_tail_cr,  // ... its CR seen, LF expected
        close_dash,        // ... its first '-' seen, the second one expected
        header_line,
        header_cr,  // a header line's CR seen, LF expected
        content,
        done,
        failed,
    };

    std::optional<Event> scan_for_delimiter(bool emit);
    std::optional<Event> on_delimiter();
    std::optional<Event> step_boundary_tail();
    std::optional<Event> step_headers();
    std::optional<Event> end_header_line();
    Error interpret_field(std::string_view field);
    Event out_of_input();
    Event fail(Error e) noexcept;

    std::string delimiter_;  // CRLF "--" boundary
    Limits limits_;
    std::string_view in_;  // the chunk being parsed; pos_ bytes of it are consumed
    std::size_t pos_ = 0;
    // A proper prefix of delimiter_ that ended the previous chunk; sized once, so holding
    // back never allocates. hold_len_ is kept apart so that data() can still view these
    // bytes after they are released as content.
    std::string hold_;
    std::size_t hold_len_ = 0;
    std::string field_;           // the header field being read, continuation lines included
    std::size_t line_start_ = 0;  // where field_'s current line starts; 0: no field pending
    std::size_t header_bytes_ = 0;
    PartHeaders headers_;
    std::string_view data_;
    std::size_t parts_ = 0;
    State state_ = State::preamble;
    Error error_ = Error::none;
    bool finished_ = false;
    bool padded_ = false;  // transport padding seen after the current delimiter
    bool have_disposition_ = false;
};

}  // namespace cvgate::http::multipart
