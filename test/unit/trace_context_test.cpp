// W3C Trace Context (level 1): what a valid traceparent is, what cvgate does with an invalid
// one (a new trace), the span it opens, and the tracestate it passes on.

#include <cvgate/ids/trace_context.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>

using namespace cvgate;
using ids::TraceContext;

namespace {

// The example of the W3C recommendation.
const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string parent_id = "00f067aa0ba902b7";
const std::string valid = "00-" + trace_id + "-" + parent_id + "-01";

bool is_valid_traceparent(const std::string& value) {
    static const std::regex form{"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$"};
    return std::regex_match(value, form) && value.substr(3, 32) != std::string(32, '0') &&
           value.substr(36, 16) != std::string(16, '0');
}

}  // namespace

TEST_CASE("a version 00 traceparent is parsed into its fields", "[trace]") {
    const auto parsed = ids::parse_traceparent(valid);
    REQUIRE(parsed);
    CHECK(std::string(parsed->trace_id.data(), 32) == trace_id);
    CHECK(std::string(parsed->parent_id.data(), 16) == parent_id);
    CHECK(parsed->flags == 1);
    CHECK(ids::parse_traceparent("00-" + trace_id + "-" + parent_id + "-00")->flags == 0);
    CHECK(ids::parse_traceparent("00-" + trace_id + "-" + parent_id + "-ff")->flags == 0xff);
}

TEST_CASE("an invalid traceparent is refused", "[trace]") {
    const std::string zeros32(32, '0');
    const std::string zeros16(16, '0');
    std::string value;
    SECTION("empty") { value = ""; }
    SECTION("one character short") { value = valid.substr(0, 54); }
    SECTION("version 00 one character long") { value = valid + "0"; }
    SECTION("version 00 with a further field") { value = valid + "-what"; }
    SECTION("uppercase trace id") { value = "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + parent_id + "-01"; }
    SECTION("uppercase parent id") { value = "00-" + trace_id + "-00F067AA0BA902B7-01"; }
    SECTION("uppercase version") { value = "0A-" + trace_id + "-" + parent_id + "-01"; }
    SECTION("all-zero trace id") { value = "00-" + zeros32 + "-" + parent_id + "-01"; }
    SECTION("all-zero parent id") { value = "00-" + trace_id + "-" + zeros16 + "-01"; }
    SECTION("version ff") { value = "ff-" + trace_id + "-" + parent_id + "-01"; }
    SECTION("version not hex") { value = "0g-" + trace_id + "-" + parent_id + "-01"; }
    SECTION("flags not hex") { value = "00-" + trace_id + "-" + parent_id + "-0x"; }
    SECTION("flags uppercase") { value = "00-" + trace_id + "-" + parent_id + "-0A"; }
    SECTION("flags one character") { value = "00-" + trace_id + "-" + parent_id + "-1 "; }
    SECTION("a separator that is not a dash") { value = "00_" + trace_id + "-" + parent_id + "-01"; }
    SECTION("fields shifted") { value = "00-" + trace_id.substr(1) + "-0" + parent_id + "-01"; }
    SECTION("a non-hex character in the trace id") {
        value = "00-" + trace_id.substr(0, 31) + "z-" + parent_id + "-01";
    }
    SECTION("later version, but more without a dash") { value = "01-" + trace_id + "-" + parent_id + "-01x"; }
    CHECK_FALSE(ids::parse_traceparent(value));
    // ...and a request carrying it starts a trace of its own, without the tracestate.
    const auto ctx = TraceContext::for_request(value, "vendor=x");
    CHECK(ctx.trace_id() != trace_id);
    CHECK(ctx.parent_span_id().empty());
    CHECK(ctx.tracestate().empty());
    CHECK(ctx.sampled());
    CHECK(is_valid_traceparent(ctx.traceparent()));
}

TEST_CASE("a later version is read by its first four fields", "[trace]") {
    auto parsed = ids::parse_traceparent("01-" + trace_id + "-" + parent_id + "-01");
    REQUIRE(parsed);
    CHECK(std::string(parsed->trace_id.data(), 32) == trace_id);
    parsed = ids::parse_traceparent("cc-" + trace_id + "-" + parent_id + "-00-what-the-future-brings");
    REQUIRE(parsed);
    CHECK(std::string(parsed->parent_id.data(), 16) == parent_id);
    CHECK(parsed->flags == 0);
    // What cvgate passes on is version 00, the only one it knows.
    const auto ctx = TraceContext::for_request("cc-" + trace_id + "-" + parent_id + "-01-more", "");
    CHECK(ctx.traceparent().starts_with("00-" + trace_id + "-"));
}

TEST_CASE("a request with a valid traceparent gets a span of its own in the caller's trace", "[trace]") {
    const auto ctx = TraceContext::for_request(valid, "congo=t61rcWkgMzE");
    CHECK_FALSE(ctx.empty());
    CHECK(ctx.trace_id() == trace_id);
    CHECK(ctx.parent_span_id() == parent_id);
    CHECK(ctx.span_id().size() == 16);
    CHECK(ctx.span_id() != parent_id);
    CHECK(ctx.span_id() != std::string(16, '0'));
    CHECK(ctx.sampled());
    CHECK(ctx.traceparent() == "00-" + trace_id + "-" + std::string{ctx.span_id()} + "-01");
    CHECK(ctx.tracestate() == "congo=t61rcWkgMzE");
    CHECK(is_valid_traceparent(ctx.traceparent()));
}

TEST_CASE("the sampled flag is passed on, the flags level 1 does not define are not", "[trace]") {
    CHECK(TraceContext::for_request("00-" + trace_id + "-" + parent_id + "-00", "")
              .traceparent()
              .ends_with("-00"));
    CHECK_FALSE(TraceContext::for_request("00-" + trace_id + "-" + parent_id + "-00", "").sampled());
    CHECK(TraceContext::for_request("00-" + trace_id + "-" + parent_id + "-03", "")
              .traceparent()
              .ends_with("-01"));
    CHECK(TraceContext::for_request("00-" + trace_id + "-" + parent_id + "-fe", "")
              .traceparent()
              .ends_with("-00"));
}

TEST_CASE("without a traceparent a new sampled trace starts, and every span id is new", "[trace]") {
    std::set<std::string> traces;
    std::set<std::string> spans;
    for (int i = 0; i < 1000; ++i) {
        const auto ctx = i % 2 ? TraceContext::start() : TraceContext::for_request("", "vendor=x");
        REQUIRE(is_valid_traceparent(ctx.traceparent()));
        CHECK(ctx.sampled());
        CHECK(ctx.parent_span_id().empty());
        CHECK(ctx.tracestate().empty());
        traces.insert(std::string{ctx.trace_id()});
        spans.insert(std::string{ctx.span_id()});
    }
    CHECK(traces.size() == 1000);
    CHECK(spans.size() == 1000);
    const auto continued = TraceContext::for_request(valid, "");
    CHECK(continued.span_id() != TraceContext::for_request(valid, "").span_id());
}

TEST_CASE("a default context is no trace at all", "[trace]") {
    const TraceContext none;
    CHECK(none.empty());
    CHECK(none.trace_id().empty());
    CHECK(none.span_id().empty());
    CHECK(none.traceparent().empty());
}

TEST_CASE("tracestate is passed on unchanged within 512 printable characters", "[trace]") {
    CHECK(ids::is_passable_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    CHECK(ids::is_passable_tracestate("a=" + std::string(510, 'x')));
    CHECK_FALSE(ids::is_passable_tracestate("a=" + std::string(511, 'x')));
    CHECK_FALSE(ids::is_passable_tracestate(""));
    CHECK_FALSE(ids::is_passable_tracestate("a=b\tc"));
    CHECK_FALSE(ids::is_passable_tracestate("a=\xc3\xa9"));
    CHECK_FALSE(ids::is_passable_tracestate(std::string{"a=b\0c", 5}));
    CHECK(TraceContext::for_request(valid, "a=" + std::string(510, 'x')).tracestate().size() == 512);
    CHECK(TraceContext::for_request(valid, "a=" + std::string(511, 'x')).tracestate().empty());
    // A bad tracestate is dropped; the trace itself goes on.
    const auto ctx = TraceContext::for_request(valid, "a=\x01");
    CHECK(ctx.tracestate().empty());
    CHECK(ctx.trace_id() == trace_id);
}
