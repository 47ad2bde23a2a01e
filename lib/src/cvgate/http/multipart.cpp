#include "cvgate/http/multipart.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cvgate::http::multipart {

namespace {

constexpr std::size_t max_boundary_length = 70;  // RFC 2046 section 5.1.1

constexpr char to_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return to_lower(x) == to_lower(y); });
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr bool is_alnum(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// RFC 9110 tchar: what a header or parameter name may be made of.
constexpr bool is_tchar(char c) noexcept {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars.
constexpr bool is_bchar(char c) noexcept {
    return is_alnum(c) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

bool is_valid_boundary(std::string_view b) noexcept {
    return !b.empty() && b.size() <= max_boundary_length && b.back() != ' ' &&
           std::all_of(b.begin(), b.end(), is_bchar);
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    const char l = to_lower(c);
    if (l >= 'a' && l <= 'f') return l - 'a' + 10;
    return -1;
}

enum class Unescape : std::uint8_t {
    // RFC 9110 quoted-pair: a backslash escapes any character.
    any,
    // Only \" and \\ are escapes. Browsers send Windows paths with bare backslashes
    // inside quoted filenames; reading those as escapes would silently eat characters.
    quote_and_backslash,
};

// Reads `type *( OWS ";" OWS [ name OWS "=" OWS value ] )`, the shape shared by
// Content-Type and Content-Disposition, calling on_param(name, value) for each
// parameter. Returns the trimmed type, or nullopt when the syntax is broken or
// on_param returned false.
template <class OnParam>
std::optional<std::string_view> parse_parameters(std::string_view s, Unescape unescape, OnParam&& on_param) {
    const std::size_t type_end = std::min(s.find(';'), s.size());
    const std::string_view type = trim_ows(s.substr(0, type_end));
    std::size_t i = type_end;
    std::string value;
    const auto skip_ows = [&] {
        while (i < s.size() && is_ows(s[i])) ++i;
    };
    for (;;) {
        skip_ows();
        if (i == s.size()) return type;
        if (s[i] != ';') return std::nullopt;
        ++i;
        skip_ows();
        if (i == s.size() || s[i] == ';') continue;  // RFC 9110 allows empty parameters

        const std::size_t name_begin = i;
        while (i < s.size() && is_tchar(s[i])) ++i;
        const std::string_view name = s.substr(name_begin, i - name_begin);
        skip_ows();
        if (name.empty() || i == s.size() || s[i] != '=') return std::nullopt;
        ++i;
        skip_ows();

        value.clear();
        if (i < s.size() && s[i] == '"') {
            ++i;
            for (;;) {
                if (i == s.size()) return std::nullopt;  // unterminated quoted string
                const char c = s[i++];
                if (c == '"') break;
                if (c == '\\' && i < s.size() && (unescape == Unescape::any || s[i] == '"' || s[i] == '\\')) {
                    value.push_back(s[i++]);
                } else if (c == '\\' && unescape == Unescape::any) {
                    return std::nullopt;  // a quoted-pair needs its character
                } else {
                    value.push_back(c);
                }
            }
        } else {
            const std::size_t value_begin = i;
            while (i < s.size() && s[i] != ';' && !is_ows(s[i])) {
                const auto u = static_cast<unsigned char>(s[i]);
                if (u < 0x20 || u == 0x7f || s[i] == '"') return std::nullopt;
                ++i;
            }
            if (i == value_begin) return std::nullopt;
            value.assign(s.substr(value_begin, i - value_begin));
        }
        if (!on_param(name, std::move(value))) return std::nullopt;
    }
}

// RFC 5987 ext-value: charset "'" [ language ] "'" percent-encoded bytes.
std::optional<std::string> decode_ext_value(std::string_view v) {
    const std::size_t q1 = v.find('\'');
    if (q1 == std::string_view::npos) return std::nullopt;
    const std::size_t q2 = v.find('\'', q1 + 1);
    if (q2 == std::string_view::npos) return std::nullopt;
    const std::string_view charset = v.substr(0, q1);
    const bool latin1 = iequals(charset, "ISO-8859-1");
    if (!latin1 && !iequals(charset, "UTF-8")) return std::nullopt;

    std::string out;
    for (std::size_t i = q2 + 1; i < v.size(); ++i) {
        auto byte = static_cast<unsigned char>(v[i]);
        if (v[i] == '%') {
            if (v.size() - i < 3) return std::nullopt;
            const int hi = hex_value(v[i + 1]);
            const int lo = hex_value(v[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            byte = static_cast<unsigned char>(hi * 16 + lo);
            i += 2;
        }
        if (latin1 && byte >= 0x80) {
            out.push_back(static_cast<char>(0xC0 | (byte >> 6)));
            out.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
        } else {
            out.push_back(static_cast<char>(byte));
        }
    }
    return out;
}

// Fills in name and filename from a Content-Disposition value; false when it is not a
// well-formed `form-data` disposition with a name.
bool parse_disposition(std::string_view value, PartHeaders& headers) {
    std::optional<std::string> name;
    std::optional<std::string> filename;
    std::optional<std::string> filename_ext;
    bool bad = false;
    const auto type =
        parse_parameters(value, Unescape::quote_and_backslash, [&](std::string_view key, std::string&& v) {
            // A repeated parameter is refused: two readers of the same part could
            // otherwise disagree about which one counts.
            const auto set_once = [&](std::optional<std::string>& slot, std::string&& s) {
                if (slot) return false;
                slot = std::move(s);
                return true;
            };
            if (iequals(key, "name")) return set_once(name, std::move(v));
            if (iequals(key, "filename")) return set_once(filename, std::move(v));
            if (iequals(key, "filename*")) {
                auto decoded = decode_ext_value(v);
                if (!decoded) {
                    bad = true;
                    return false;
                }
                return set_once(filename_ext, std::move(*decoded));
            }
            return true;
        });
    if (bad || !type || !iequals(*type, "form-data") || !name) return false;
    headers.name = std::move(*name);
    if (filename_ext) {
        headers.filename = std::move(filename_ext);
    } else {
        headers.filename = std::move(filename);
    }
    return true;
}

// The first CR in [p, end) that may start a delimiter (CR LF "--" boundary), or
// nullptr. Random content has a CR every 256 bytes, and restarting memchr that often
// costs more than the scan itself; with SSE2, 16 positions at a time are tested for the
// delimiter's first three bytes, which random content matches once in 16 MiB.
const char* find_delimiter_start(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i dash = _mm_set1_epi8('-');
    const auto load = [](const char* at) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at)); };
    // Each block reads 18 bytes: its 16 positions and the two bytes after the last.
    while (end - p >= 34) {
        const __m128i hit0 =
            _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(load(p), cr), _mm_cmpeq_epi8(load(p + 1), lf)),
                          _mm_cmpeq_epi8(load(p + 2), dash));
        const __m128i hit1 =
            _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(load(p + 16), cr), _mm_cmpeq_epi8(load(p + 17), lf)),
                          _mm_cmpeq_epi8(load(p + 18), dash));
        const auto mask = static_cast<std::uint32_t>(_mm_movemask_epi8(hit0)) |
                          (static_cast<std::uint32_t>(_mm_movemask_epi8(hit1)) << 16);
        if (mask != 0) return p + std::countr_zero(mask);
        p += 32;
    }
#endif
    // The tail, too short to tell whether a CR is followed by its delimiter, and
    // targets without SSE2.
    return p == end ? nullptr
                    : static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
}

}  // namespace

std::optional<std::string> boundary_from_content_type(std::string_view content_type) {
    std::optional<std::string> boundary;
    const auto type =
        parse_parameters(content_type, Unescape::any, [&](std::string_view key, std::string&& v) {
            if (!iequals(key, "boundary")) return true;
            if (boundary) return false;  // ambiguous
            boundary = std::move(v);
            return true;
        });
    if (!type || !iequals(*type, "multipart/form-data") || !boundary || !is_valid_boundary(*boundary)) {
        return std::nullopt;
    }
    return boundary;
}

std::string_view describe(Error e) noexcept {
    switch (e) {
        case Error::none:
            return "ok";
        case Error::missing_initial_boundary:
            return "Malformed multipart body: the boundary declared in Content-Type never "
                   "appears in the body";
        case Error::bad_boundary_line:
            return "Malformed multipart body: a boundary is followed by something other than a "
                   "line break or the closing '--'";
        case Error::header_without_colon:
            return "Malformed multipart body: a part header line is not of the form "
                   "'Name: value' (no colon)";
        case Error::header_bad_line_ending:
            return "Malformed multipart body: a part header line does not end with CRLF";
        case Error::header_too_large:
            return "Malformed multipart body: a part's header block is larger than allowed";
        case Error::missing_content_disposition:
            return "Malformed multipart body: a part has no Content-Disposition header";
        case Error::bad_content_disposition:
            return "Malformed multipart body: a part's Content-Disposition is not a valid "
                   "'form-data' disposition with a name";
        case Error::too_many_parts:
            return "Multipart body has more parts than allowed";
        case Error::truncated:
            return "Malformed multipart body: the closing boundary is missing (body truncated)";
    }
    return "Malformed multipart body";
}

Parser::Parser(std::string boundary, Limits limits)
    : delimiter_("\r\n--" + std::move(boundary)), limits_(limits), hold_(delimiter_.size(), '\0') {
    // The delimiter search relies on the delimiter holding no CR but its first byte;
    // a boundary from boundary_from_content_type always qualifies.
    if (!is_valid_boundary(std::string_view(delimiter_).substr(4))) {
        fail(Error::missing_initial_boundary);
        return;
    }
    // The first delimiter may open the body without its CRLF: pretend one came before.
    hold_[0] = '\r';
    hold_[1] = '\n';
    hold_len_ = 2;
}

void Parser::feed(std::string_view chunk) {
    // Input after the end (the epilogue) or after an error means nothing any more.
    if (state_ == State::done || state_ == State::failed || finished_) return;
    in_ = chunk;
    pos_ = 0;
}

void Parser::finish() { finished_ = true; }

const PartHeaders& Parser::headers() const noexcept { return headers_; }
std::string_view Parser::data() const noexcept { return data_; }
Error Parser::error() const noexcept { return error_; }
std::size_t Parser::parts_seen() const noexcept { return parts_; }

Parser::Event Parser::fail(Error e) noexcept {
    state_ = State::failed;
    error_ = e;
    in_ = {};
    pos_ = 0;
    return Event::error;
}

Parser::Event Parser::next() {
    data_ = {};
    for (;;) {
        std::optional<Event> event;
        switch (state_) {
            case State::preamble:
                event = scan_for_delimiter(false);
                break;
            case State::content:
                event = scan_for_delimiter(true);
                break;
            case State::boundary_tail:
            case State::boundary_tail_cr:
            case State::close_dash:
                event = step_boundary_tail();
                break;
            case State::header_line:
            case State::header_cr:
                event = step_headers();
                break;
            case State::done:
                return Event::done;
            case State::failed:
                return Event::error;
        }
        if (event) return *event;
    }
}

// All input is consumed: ask for more, or, at the end of the body, say how it ended.
Parser::Event Parser::out_of_input() {
    if (!finished_) return Event::need_more;
    switch (state_) {
        case State::preamble:
            return fail(Error::missing_initial_boundary);
        case State::content:
            // Held-back bytes never became a delimiter, so they were content; hand them
            // over before reporting the truncation, whatever the chunking was.
            if (hold_len_ > 0) {
                data_ = std::string_view(hold_.data(), hold_len_);
                hold_len_ = 0;
                return Event::part_data;
            }
            return fail(Error::truncated);
        case State::done:
            return Event::done;
        case State::failed:
            return Event::error;
        default:
            return fail(Error::truncated);
    }
}

// The data path: find the next delimiter in the preamble or in part content. Content
// before it is returned as part_data in as few events as the chunking allows.
std::optional<Parser::Event> Parser::scan_for_delimiter(bool emit) {
    const std::string_view delim = delimiter_;

    if (hold_len_ > 0) {
        const std::size_t want = delim.size() - hold_len_;
        const std::size_t n = std::min(want, in_.size() - pos_);
        if (n == 0) return out_of_input();
        if (std::memcmp(in_.data() + pos_, delim.data() + hold_len_, n) == 0) {
            if (n == want) {
                pos_ += n;
                hold_len_ = 0;
                return on_delimiter();
            }
            std::memcpy(hold_.data() + hold_len_, in_.data() + pos_, n);
            hold_len_ += n;
            pos_ += n;
            return out_of_input();
        }
        // Not a delimiter after all. The delimiter's only CR is its first byte, so no
        // later held byte can start one: all of them are content.
        const std::size_t held = hold_len_;
        hold_len_ = 0;
        if (emit) {
            data_ = std::string_view(hold_.data(), held);
            return Event::part_data;
        }
    }

    const char* const begin = in_.data() + pos_;
    const char* const end = in_.data() + in_.size();
    const char* p = begin;
    for (;;) {
        const char* const r = find_delimiter_start(p, end);
        if (r == nullptr) {
            pos_ = in_.size();
            if (emit && begin != end) {
                data_ = std::string_view(begin, static_cast<std::size_t>(end - begin));
                return Event::part_data;
            }
            return out_of_input();
        }
        const auto avail = static_cast<std::size_t>(end - r);
        const std::size_t n = std::min(avail, delim.size());
        if (std::memcmp(r, delim.data(), n) != 0) {
            p = r + 1;
            continue;
        }
        if (emit && r != begin) {
            // Content first; the next call finds the (partial) delimiter at pos_ again.
            pos_ = static_cast<std::size_t>(r - in_.data());
            data_ = std::string_view(begin, static_cast<std::size_t>(r - begin));
            return Event::part_data;
        }
        pos_ = static_cast<std::size_t>(r - in_.data()) + n;
        if (n == delim.size()) return on_delimiter();
        // The chunk ends inside what may be a delimiter: keep it until the next chunk says.
        std::memcpy(hold_.data(), r, n);
        hold_len_ = n;
        return out_of_input();
    }
}

std::optional<Parser::Event> Parser::on_delimiter() {
    const bool ends_part = state_ == State::content;
    state_ = State::boundary_tail;
    padded_ = false;
    if (ends_part) return Event::part_end;
    return std::nullopt;
}

std::optional<Parser::Event> Parser::step_boundary_tail() {
    while (pos_ < in_.size()) {
        const char c = in_[pos_++];
        switch (state_) {
            case State::boundary_tail:
                if (is_ows(c)) {
                    padded_ = true;
                } else if (c == '\r') {
                    state_ = State::boundary_tail_cr;
                } else if (c == '-' && !padded_) {
                    state_ = State::close_dash;
                } else {
                    return fail(Error::bad_boundary_line);
                }
                break;
            case State::boundary_tail_cr:
                if (c != '\n') return fail(Error::bad_boundary_line);
                // Refuse the part before reading its headers: past the limit they are moot.
                if (parts_ >= limits_.max_parts) return fail(Error::too_many_parts);
                state_ = State::header_line;
                headers_.name.clear();
                headers_.filename.reset();
                headers_.content_type.clear();
                field_.clear();
                line_start_ = 0;
                header_bytes_ = 0;
                have_disposition_ = false;
                return std::nullopt;
            case State::close_dash:
                if (c != '-') return fail(Error::bad_boundary_line);
                state_ = State::done;
                in_ = {};
                pos_ = 0;
                return Event::done;
            default:
                return std::nullopt;
        }
    }
    return out_of_input();
}

// Header blocks are small and bounded, so they are read a byte at a time; this keeps
// every error at the byte that causes it, whatever the chunking.
std::optional<Parser::Event> Parser::step_headers() {
    while (pos_ < in_.size()) {
        const char c = in_[pos_++];
        if (++header_bytes_ > limits_.max_part_header_bytes) {
            return fail(Error::header_too_large);
        }
        if (state_ == State::header_cr) {
            if (c != '\n') return fail(Error::header_bad_line_ending);
            state_ = State::header_line;
            if (auto event = end_header_line()) return event;
        } else if (c == '\r') {
            state_ = State::header_cr;
        } else if (c == '\n') {
            return fail(Error::header_bad_line_ending);
        } else {
            field_.push_back(c);
        }
    }
    return out_of_input();
}

// A header line has just ended (its CRLF is not in field_).
std::optional<Parser::Event> Parser::end_header_line() {
    const std::string_view line = std::string_view(field_).substr(line_start_);

    if (line.empty()) {
        if (line_start_ > 0) {
            if (const Error e = interpret_field(std::string_view(field_).substr(0, line_start_));
                e != Error::none) {
                return fail(e);
            }
        }
        if (!have_disposition_) return fail(Error::missing_content_disposition);
        ++parts_;
        state_ = State::content;
        hold_len_ = 0;
        return Event::part_begin;
    }

    if (is_ows(line.front())) {
        // An obsolete folded continuation of the pending field (RFC 5322 unfolding
        // keeps the white space and drops only the CRLF).
        if (line_start_ == 0) return fail(Error::header_without_colon);
        line_start_ = field_.size();
        return std::nullopt;
    }

    if (line_start_ > 0) {
        if (const Error e = interpret_field(std::string_view(field_).substr(0, line_start_));
            e != Error::none) {
            return fail(e);
        }
    }
    // Checked at once, not when the field completes, so that a delimiter line read as a
    // header (a header block cut short by the next part) fails where it appears.
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_tchar)) {
        return fail(Error::header_without_colon);
    }
    field_.erase(0, line_start_);
    line_start_ = field_.size();
    return std::nullopt;
}

Error Parser::interpret_field(std::string_view field) {
    const std::size_t colon = field.find(':');
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim_ows(field.substr(colon + 1));
    if (iequals(name, "Content-Disposition")) {
        if (have_disposition_ || !parse_disposition(value, headers_)) {
            return Error::bad_content_disposition;
        }
        have_disposition_ = true;
    } else if (iequals(name, "Content-Type")) {
        headers_.content_type.assign(value);
    }
    return Error::none;
}

}  // namespace cvgate::http::multipart
