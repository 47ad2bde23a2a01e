// libFuzzer target for the BSON <-> JSON conversion (clients/mongo/bson_json).
//
// Byte 0 picks how the rest is read: even, as JSON text; odd, as the elements of a BSON
// document (the target adds the length prefix and the closing NUL, so mutations stay framed).
//
// JSON: when Boost.JSON parses the text to an object, to_bson() throws ConversionError or
// gives a document whose to_json() is the input again: the same keys in the same order,
// integers by value, doubles bit for bit, infinities as {"$numberDouble": ...}. Of the Extended
// JSON wrappers, {"$oid": hex} must come back lower-cased and {"$date": ...} as a $date; the
// others are left to the fixed-point check. The BSON validates (UTF-8 keys and strings), a second JSON ->
// BSON -> JSON trip is a fixed point, and an input nested deeper than max_nesting_depth always throws.
//
// BSON: to_json() throws ConversionError or gives an object that serialises to valid UTF-8
// and re-parses to itself. When that object converts back, to_json() reads the result, the
// next trip is a fixed point, and without any `$` key the object comes back unchanged.

#include "cvgate/clients/mongo/bson_json.hpp"
#include "cvgate/text/utf8.hpp"

// The library links libbson privately; this spelling works as in test/unit/bson_json_test.cpp.
#include <libbson-1.0/bson/bson.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
namespace mongo = cvgate::clients::mongo;

[[noreturn]] void broken(const char* what, const json::value* a = nullptr, const json::value* b = nullptr) {
    std::fprintf(stderr, "bson_json_fuzz: broken promise: %s\n", what);
    if (a) std::fprintf(stderr, "  first:  %s\n", json::serialize(*a).c_str());
    if (b) std::fprintf(stderr, "  second: %s\n", json::serialize(*b).c_str());
    std::abort();
}

void require(bool ok, const char* what) {
    if (!ok) broken(what);
}

// Deep enough for every nesting the conversion accepts, and then some.
json::parse_options deep_parse() {
    json::parse_options options;
    options.max_depth = 4 * mongo::max_nesting_depth;
    return options;
}

// The Extended JSON v2 type wrappers; $regex and $type are left out, as the header says.
bool is_wrapper(const json::object& object) {
    static constexpr std::array<std::string_view, 16> keys{
        "$oid",    "$date", "$numberInt", "$numberLong", "$numberDouble",      "$numberDecimal",
        "$binary", "$uuid", "$timestamp", "$minKey",     "$regularExpression", "$maxKey",
        "$symbol", "$code", "$undefined", "$dbPointer"};
    if (object.empty() || object.size() > 2) return false;
    return std::find(keys.begin(), keys.end(), object.begin()->key()) != keys.end();
}

bool has_dollar_key(const json::value& v) {
    if (const auto* o = v.if_object()) {
        for (const auto& m : *o)
            if (m.key().starts_with('$') || has_dollar_key(m.value())) return true;
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a)
            if (has_dollar_key(e)) return true;
    }
    return false;
}

// Nesting of `v` as BSON will see it: containers count one level each, a wrapper counts as
// one level whatever it holds, scalars none.
std::size_t bson_depth(const json::value& v) {
    std::size_t inner = 0;
    if (const auto* o = v.if_object()) {
        if (is_wrapper(*o)) return 1;
        for (const auto& m : *o) inner = std::max(inner, bson_depth(m.value()));
    } else if (const auto* a = v.if_array()) {
        for (const auto& e : *a) inner = std::max(inner, bson_depth(e));
    } else {
        return 0;
    }
    return 1 + inner;
}

std::size_t top_depth(const json::object& o) {
    std::size_t inner = 0;
    for (const auto& m : o) inner = std::max(inner, bson_depth(m.value()));
    return 1 + inner;
}

// Exact equality: same kinds, keys in the same order, doubles bit for bit. `ulps` lets
// doubles differ by that many units in the last place (Boost 1.81 parses numbers imprecisely).
bool same(const json::value& a, const json::value& b, std::uint64_t ulps = 0) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case json::kind::double_: {
            const auto x = std::bit_cast<std::int64_t>(a.get_double());
            const auto y = std::bit_cast<std::int64_t>(b.get_double());
            if ((x < 0) != (y < 0)) return false;
            return static_cast<std::uint64_t>(x > y ? x - y : y - x) <= ulps;
        }
        case json::kind::object: {
            const json::object& x = a.get_object();
            const json::object& y = b.get_object();
            if (x.size() != y.size()) return false;
            for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
                if (i->key() != j->key() || !same(i->value(), j->value(), ulps)) return false;
            return true;
        }
        case json::kind::array: {
            const json::array& x = a.get_array();
            const json::array& y = b.get_array();
            if (x.size() != y.size()) return false;
            for (std::size_t i = 0; i < x.size(); ++i)
                if (!same(x[i], y[i], ulps)) return false;
            return true;
        }
        default:
            return a == b;
    }
}

bool same_members(const json::object& x, const json::object& y,
                  bool (*equal)(const json::value&, const json::value&)) {
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
        if (i->key() != j->key() || !equal(i->value(), j->value())) return false;
    return true;
}

// `out` is what the header promises `in` becomes after JSON -> BSON -> JSON.
bool comes_back_as(const json::value& in, const json::value& out) {
    switch (in.kind()) {
        case json::kind::int64:
        case json::kind::uint64:
            return out.is_int64() && in == out;  // by value: the width is not kept
        case json::kind::double_: {
            const double d = in.get_double();
            if (std::isfinite(d)) return same(in, out);
            // Boost.JSON 1.81 reads 1e400 as infinity and 0e400 as NaN.
            const json::object wrapper{{"$numberDouble", std::isnan(d) ? "NaN"
                                                         : d > 0       ? "Infinity"
                                                                       : "-Infinity"}};
            return out.is_object() && same(out, wrapper);
        }
        case json::kind::array: {
            const json::array& x = in.get_array();
            const json::array* y = out.if_array();
            if (!y || y->size() != x.size()) return false;
            for (std::size_t i = 0; i < x.size(); ++i)
                if (!comes_back_as(x[i], (*y)[i])) return false;
            return true;
        }
        case json::kind::object: {
            const json::object& x = in.get_object();
            if (!is_wrapper(x)) return out.is_object() && same_members(x, out.get_object(), comes_back_as);
            // A wrapper names a BSON type; only the two that cvgate spells itself are checked
            // beyond coming back at all.
            const std::string_view key = x.begin()->key();
            if (x.size() == 1 && key == "$oid" && x.begin()->value().is_string()) {
                std::string hex{x.begin()->value().get_string()};
                std::transform(hex.begin(), hex.end(), hex.begin(),
                               [](unsigned char c) { return std::tolower(c); });
                return out.is_object() && same(out, json::object{{"$oid", hex}});
            }
            if (x.size() == 1 && key == "$date")
                return out.is_object() && out.get_object().size() == 1 && out.get_object().contains("$date");
            return true;
        }
        default:
            return same(in, out);
    }
}

struct Converted {
    std::optional<mongo::Bson> bson;
    std::string error;
};

Converted try_to_bson(const json::object& object) {
    try {
        return {mongo::to_bson(object), {}};
    } catch (const mongo::ConversionError& e) {
        require(std::string_view{e.what()}.find(" at ") != std::string_view::npos, "error without a path");
        return {std::nullopt, e.what()};
    }
}

// Takes the struct, as the header declares it: the Bson holder hands out `_bson_t`.
std::optional<json::object> try_to_json(const _bson_t& document) {
    try {
        return mongo::to_json(document);
    } catch (const mongo::ConversionError&) {
        return std::nullopt;
    }
}

// `first` came out of to_json(); converting it back and forth once more changes nothing.
void require_fixed_point(const json::object& first, bool must_convert) {
    const Converted back = try_to_bson(first);
    if (!back.bson) {
        if (must_convert) {
            std::fprintf(stderr, "bson_json_fuzz: %s\n", back.error.c_str());
            const json::value v(first);
            broken("to_bson() refuses what to_json() produced from to_bson()", &v);
        }
        return;
    }
    const auto second = try_to_json(*back.bson->get());
    if (!second) {
        const json::value v(first);
        broken("to_json() throws on what to_bson() produced", &v);
    }
    const json::value a(first);
    const json::value b(*second);
    if (must_convert) {
        if (!same(a, b)) broken("JSON -> BSON -> JSON is not a fixed point on the second trip", &a, &b);
        return;
    }
    if (!has_dollar_key(a) && !same(a, b))
        broken("an object without `$` keys changed on its way back", &a, &b);
    require_fixed_point(*second, true);
}

void check_json(std::string_view text) {
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec, {}, deep_parse());
    if (ec || !parsed.is_object()) return;
    const json::object& input = parsed.get_object();

    const Converted converted = try_to_bson(input);
    if (!converted.bson) {
        // Too deep is refused for that reason only when the input is too deep.
        if (converted.error.starts_with("nesting too deep at "))  // the path may hold anything
            require(top_depth(input) > mongo::max_nesting_depth, "\"nesting too deep\" for a shallow input");
        return;
    }
    require(top_depth(input) <= mongo::max_nesting_depth, "an input nested too deep was converted");
    // Well-formed BSON with UTF-8 keys and strings (NUL allowed inside strings) is all MongoDB gets.
    require(
        bson_validate(static_cast<const bson_t*>(converted.bson->get()),
                      static_cast<bson_validate_flags_t>(BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL),
                      nullptr),
        "to_bson() wrote BSON that does not validate");
    const auto output = try_to_json(*converted.bson->get());
    if (!output) broken("to_json() throws on what to_bson() produced", &parsed);
    const json::value out(*output);
    if (!same_members(input, *output, comes_back_as))
        broken("JSON -> BSON -> JSON changed the input beyond the documented changes", &parsed, &out);
    require_fixed_point(*output, true);
}

void check_bson(std::string_view elements) {
    // The framing bson_init_static() insists on: total length (little endian), elements, NUL.
    const std::size_t size = elements.size() + 5;
    if (size > static_cast<std::size_t>(INT32_MAX)) return;
    auto bytes = std::make_unique<std::uint8_t[]>(size);  // exactly sized: ASan sees over-reads
    const auto length = static_cast<std::uint32_t>(size);
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<std::uint8_t>(length >> (8 * i));
    std::memcpy(bytes.get() + 4, elements.data(), elements.size());
    bytes[size - 1] = 0;
    bson_t document;
    require(bson_init_static(&document, bytes.get(), size), "bson_init_static refused a framed document");

    const auto object = try_to_json(document);
    if (!object) return;
    const json::value value(*object);
    require(top_depth(*object) <= mongo::max_nesting_depth, "to_json() output nested too deep");

    const std::string text = json::serialize(value);
    require(cvgate::text::utf8_code_points(text).has_value(), "to_json() output is not valid UTF-8");
    boost::system::error_code ec;
    const json::value reparsed = json::parse(text, ec, {}, deep_parse());
    if (ec) broken("to_json() output does not re-parse", &value);
    if (!same(reparsed, value, 2)) broken("to_json() output re-parses to something else", &value, &reparsed);

    require_fixed_point(*object, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
    if (bytes[0] % 2 == 0)
        check_json(rest);
    else
        check_bson(rest);
    return 0;
}
