#include <cvgate/ids/trace_context.hpp>

#include <cvgate/ids/random.hpp>

#include <algorithm>

namespace cvgate::ids {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int lower_hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// `N` lowercase hex characters at `text`, not all zeros, copied into `out`.
template <std::size_t N>
bool read_id(std::string_view text, std::array<char, N>& out) noexcept {
    bool non_zero = false;
    for (std::size_t i = 0; i < N; ++i) {
        if (lower_hex_value(text[i]) < 0) return false;
        non_zero = non_zero || text[i] != '0';
        out[i] = text[i];
    }
    return non_zero;
}

// `N` random hex characters, not all zeros.
template <std::size_t N>
void random_id(std::array<char, N>& out) {
    static_assert(N % 16 == 0);
    bool non_zero = false;
    while (!non_zero) {
        for (std::size_t i = 0; i < N; i += 16) {
            const std::uint64_t word = random_u64();
            non_zero = non_zero || word != 0;
            write_hex(word, out.data() + i);
        }
    }
}

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view value) noexcept {
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
    constexpr std::size_t size = 55;
    if (value.size() < size) return std::nullopt;
    const int high = lower_hex_value(value[0]);
    const int low = lower_hex_value(value[1]);
    if (high < 0 || low < 0) return std::nullopt;
    const int version = high * 16 + low;
    if (version == 0xff) return std::nullopt;
    // Version 00 has exactly these fields; a later one may add fields, after a dash.
    if (version == 0 ? value.size() != size : value.size() > size && value[size] != '-') return std::nullopt;
    if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
    TraceParent out;
    if (!read_id(value.substr(3), out.trace_id) || !read_id(value.substr(36), out.parent_id))
        return std::nullopt;
    const int flags_high = lower_hex_value(value[53]);
    const int flags_low = lower_hex_value(value[54]);
    if (flags_high < 0 || flags_low < 0) return std::nullopt;
    out.flags = static_cast<std::uint8_t>(flags_high * 16 + flags_low);
    return out;
}

bool is_passable_tracestate(std::string_view value) noexcept {
    if (value.empty() || value.size() > TraceContext::max_tracestate_size) return false;
    return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

TraceContext TraceContext::for_request(std::string_view traceparent, std::string_view tracestate) {
    const auto parent = parse_traceparent(traceparent);
    if (!parent) return start();  // and its tracestate is dropped: it belongs to that trace
    TraceContext out;
    out.traced_ = true;
    out.trace_id_ = parent->trace_id;
    out.parent_id_ = parent->parent_id;
    out.has_parent_ = true;
    out.flags_ = parent->flags & 1;
    random_id(out.span_id_);
    if (is_passable_tracestate(tracestate)) out.tracestate_ = tracestate;
    return out;
}

TraceContext TraceContext::start() {
    TraceContext out;
    out.traced_ = true;
    random_id(out.trace_id_);
    random_id(out.span_id_);
    out.flags_ = 1;
    return out;
}

std::string_view TraceContext::trace_id() const noexcept {
    return traced_ ? std::string_view{trace_id_.data(), trace_id_.size()} : std::string_view{};
}

std::string_view TraceContext::span_id() const noexcept {
    return traced_ ? std::string_view{span_id_.data(), span_id_.size()} : std::string_view{};
}

std::string_view TraceContext::parent_span_id() const noexcept {
    return has_parent_ ? std::string_view{parent_id_.data(), parent_id_.size()} : std::string_view{};
}

std::string TraceContext::traceparent() const {
    std::string out;
    out.reserve(55);
    append_traceparent(out);
    return out;
}

void TraceContext::append_traceparent(std::string& out) const {
    if (!traced_) return;
    const char flags[] = {'-', '0', hex_digits[flags_ & 1]};
    out += "00-";
    out += trace_id();
    out += '-';
    out += span_id();
    out.append(flags, sizeof flags);
}

}  // namespace cvgate::ids
