#pragma once
// W3C Trace Context (level 1) for a server: the `traceparent` and `tracestate` a request
// arrives with, and the span the server opens for it — the caller's trace (or a new one)
// with a span id of its own — to be passed on in the response and in what the request sends
// further (the job message's headers).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::ids {

// A `traceparent` value, parsed: the caller's trace and span.
struct TraceParent {
    std::array<char, 32> trace_id{};   // lowercase hex, not all zeros
    std::array<char, 16> parent_id{};  // lowercase hex, not all zeros
    std::uint8_t flags = 0;
};

// The value when it is a valid `traceparent`, else nullopt: version 00 is exactly
// `00-{32 hex}-{16 hex}-{2 hex}` (lowercase); a later version (any but ff) is read by those
// four fields and may go on only after a `-`.
std::optional<TraceParent> parse_traceparent(std::string_view value) noexcept;

// Whether a `tracestate` value is passed on: 1 to 512 characters of printable ASCII. Its
// list members are not checked one by one; it is the caller's, passed on unchanged.
bool is_passable_tracestate(std::string_view value) noexcept;

// The span a server opens for a request: the trace it belongs to, its own span id, the
// caller's span (none when the trace starts here), the sampled flag and the caller's
// tracestate. Default-constructed: no trace at all (empty ids, nothing to pass on).
class TraceContext {
public:
    static constexpr std::size_t max_tracestate_size = 512;

    TraceContext() = default;

    // A request's span, from its `traceparent` and `tracestate` values ("" when absent):
    // the caller's trace and sampled flag when `traceparent` is valid, its `tracestate` kept
    // when passable; else a new trace, sampled, without tracestate.
    static TraceContext for_request(std::string_view traceparent, std::string_view tracestate);
    // A new trace (sampled) with a new span.
    static TraceContext start();

    bool empty() const noexcept { return !traced_; }
    std::string_view trace_id() const noexcept;        // 32 hex, or "" when empty()
    std::string_view span_id() const noexcept;         // 16 hex (this span's), or ""
    std::string_view parent_span_id() const noexcept;  // 16 hex (the caller's), or "" when none
    bool sampled() const noexcept { return (flags_ & 1) != 0; }
    // "00-{trace_id}-{span_id}-{flags}", only the sampled flag kept (the others are not
    // defined by level 1); "" when empty(). What the response and the job message carry.
    std::string traceparent() const;
    // Appends traceparent() to `out` (nothing when empty()).
    void append_traceparent(std::string& out) const;
    const std::string& tracestate() const noexcept { return tracestate_; }

private:
    std::array<char, 32> trace_id_{};
    std::array<char, 16> span_id_{};
    std::array<char, 16> parent_id_{};
    bool traced_ = false;
    bool has_parent_ = false;
    std::uint8_t flags_ = 0;
    std::string tracestate_;
};

}  // namespace cvgate::ids
