#include <cvgate/clients/mongo/bson_json.hpp>

#include <bson/bson.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::clients::mongo {

namespace json = boost::json;

void Bson::Destroy::operator()(bson_t* doc) const noexcept { bson_destroy(doc); }

Bson::Bson() : doc_{bson_new()} {}

Bson::Bson(bson_t* adopted) : doc_{adopted} {}

namespace {

// --- where we are, for error messages --------------------------------------------------

// One step of the path from the top document to the value being converted; kept on the
// stack and only turned into text when something fails.
struct Path {
    const Path* parent;
    std::string_view key;
};

std::string describe(const Path* path) {
    std::string out;
    for (; path; path = path->parent) {
        out.insert(0, path->key);
        if (path->parent) out.insert(0, ".");
    }
    return out.empty() ? "(top level)" : out;
}

[[noreturn]] void fail(const Path* path, std::string_view what) {
    throw ConversionError{std::string{what} + " at " + describe(path)};
}

// --- UTF-8 -----------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 when there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) -> unsigned {
        return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
    };
    const auto tail = [&](std::size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
    const unsigned c = byte(0);
    const unsigned c1 = byte(1);
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return tail(1) ? 2 : 0;
    if (c == 0xE0) return c1 >= 0xA0 && c1 <= 0xBF && tail(2) ? 3 : 0;
    if (c == 0xED) return c1 >= 0x80 && c1 <= 0x9F && tail(2) ? 3 : 0;
    if (c >= 0xE1 && c <= 0xEF) return tail(1) && tail(2) ? 3 : 0;
    if (c == 0xF0) return c1 >= 0x90 && c1 <= 0xBF && tail(2) && tail(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return tail(1) && tail(2) && tail(3) ? 4 : 0;
    if (c == 0xF4) return c1 >= 0x80 && c1 <= 0x8F && tail(2) && tail(3) ? 4 : 0;
    return 0;
}

bool is_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// `s` with every byte that starts no well-formed sequence replaced by U+FFFD.
json::string repaired_utf8(std::string_view s) {
    if (is_utf8(s)) return json::string{s};
    json::string out;
    out.reserve(s.size() + 16);
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out.append("\xEF\xBF\xBD");
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// --- dates -----------------------------------------------------------------------------

using Millis = std::chrono::duration<std::int64_t, std::milli>;
using Clock = std::chrono::system_clock;

// Relaxed Extended JSON spells a date as an ISO-8601 string for these years only.
constexpr std::int64_t iso_first_ms = 0;  // 1970-01-01T00:00:00.000Z
constexpr std::int64_t iso_last_ms =
    std::chrono::duration_cast<Millis>(
        std::chrono::sys_days{std::chrono::year{10000} / std::chrono::January / 1}.time_since_epoch())
        .count() -
    1;  // 9999-12-31T23:59:59.999Z

json::value date_to_json(std::int64_t ms) {
    json::object wrapper;
    if (ms < iso_first_ms || ms > iso_last_ms) {
        wrapper.emplace("$date", json::object{{"$numberLong", std::to_string(ms)}});
        return wrapper;
    }
    const std::chrono::time_point<Clock, Millis> at{Millis{ms}};
    const auto day = std::chrono::floor<std::chrono::days>(at);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss<Millis> time{at - day};
    std::array<char, 32> text{};
    const int n = std::snprintf(
        text.data(), text.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
        static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
    wrapper.emplace("$date", std::string_view{text.data(), static_cast<std::size_t>(n)});
    return wrapper;
}

// Reads `count` decimal digits at s[pos]; advances pos.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t count) {
    if (pos + count > s.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    pos += count;
    return value;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM|+HHMM|-HHMM)" as milliseconds since the
// epoch; digits past the millisecond are dropped.
std::optional<std::int64_t> parse_iso_date(std::string_view s) {
    std::size_t pos = 0;
    const auto year = digits(s, pos, 4);
    if (!year || !expect(s, pos, '-')) return std::nullopt;
    const auto month = digits(s, pos, 2);
    if (!month || !expect(s, pos, '-')) return std::nullopt;
    const auto day = digits(s, pos, 2);
    if (!day || !expect(s, pos, 'T')) return std::nullopt;
    const auto hour = digits(s, pos, 2);
    if (!hour || !expect(s, pos, ':')) return std::nullopt;
    const auto minute = digits(s, pos, 2);
    if (!minute || !expect(s, pos, ':')) return std::nullopt;
    const auto second = digits(s, pos, 2);
    if (!second) return std::nullopt;

    int millis = 0;
    if (expect(s, pos, '.')) {
        const std::size_t first = pos;
        int scale = 100;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            millis += (s[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == first) return std::nullopt;
    }

    int offset_minutes = 0;
    if (!expect(s, pos, 'Z')) {
        if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return std::nullopt;
        const int sign = s[pos++] == '-' ? -1 : 1;
        const auto oh = digits(s, pos, 2);
        expect(s, pos, ':');
        const auto om = digits(s, pos, 2);
        if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
        offset_minutes = sign * (*oh * 60 + *om);
    }
    if (pos != s.size()) return std::nullopt;

    const std::chrono::year_month_day ymd{std::chrono::year{*year},
                                          std::chrono::month{static_cast<unsigned>(*month)},
                                          std::chrono::day{static_cast<unsigned>(*day)}};
    if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;

    const auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
    return (static_cast<std::int64_t>(days) * 86'400 + *hour * 3'600 + *minute * 60 + *second) * 1'000 +
           millis - static_cast<std::int64_t>(offset_minutes) * 60'000;
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// --- JSON -> BSON ----------------------------------------------------------------------

// Keys whose single-member (or, for $code, two-member) object is an Extended JSON wrapper
// that libbson's parser turns into the BSON type it names. $regex and $type are left out:
// they are query operators too.
bool names_other_bson_type(std::string_view key) {
    static constexpr std::array<std::string_view, 14> keys{
        "$numberLong", "$numberInt",         "$numberDouble", "$numberDecimal", "$binary",    "$uuid",
        "$timestamp",  "$regularExpression", "$minKey",       "$maxKey",        "$undefined", "$symbol",
        "$code",       "$dbPointer"};
    for (auto k : keys)
        if (k == key) return true;
    return false;
}

void append_value(bson_t& out, std::string_view key, const json::value& value, const Path& path,
                  std::size_t depth);

void check_key(std::string_view key, const Path& path) {
    if (key.find('\0') != std::string_view::npos) fail(&path, "NUL character in a key");
    if (!is_utf8(key)) fail(&path, "key is not valid UTF-8");
    if (key.size() > INT_MAX) fail(&path, "key too long");
}

void appended(bool ok, const Path& path) {
    if (!ok) fail(&path, "document exceeds the BSON size limit");
}

void append_members(bson_t& out, const json::object& object, const Path* path, std::size_t depth) {
    for (const auto& member : object) {
        const Path here{path, member.key()};
        check_key(member.key(), here);
        append_value(out, member.key(), member.value(), here, depth);
    }
}

void append_oid(bson_t& out, std::string_view key, const json::value& hex, const Path& path) {
    const json::string* text = hex.if_string();
    if (!text || text->size() != 24 || !bson_oid_is_valid(text->data(), text->size()))
        fail(&path, "$oid needs a string of 24 hex digits");
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, text->c_str());
    appended(bson_append_oid(&out, key.data(), static_cast<int>(key.size()), &oid), path);
}

void append_date(bson_t& out, std::string_view key, const json::value& when, const Path& path) {
    std::optional<std::int64_t> ms;
    if (const auto* text = when.if_string()) {
        ms = parse_iso_date(*text);
    } else if (const auto* number = when.if_int64()) {
        ms = *number;
    } else if (const auto* object = when.if_object(); object && object->size() == 1) {
        if (const auto* digits = object->if_contains("$numberLong"); digits && digits->is_string())
            ms = parse_int64(digits->get_string());
    }
    if (!ms) fail(&path, "$date needs an ISO-8601 date with a zone, or {\"$numberLong\": \"<ms>\"}");
    appended(bson_append_date_time(&out, key.data(), static_cast<int>(key.size()), *ms), path);
}

// A wrapper for a BSON type JSON has no word for, parsed by libbson itself.
void append_other_type(bson_t& out, std::string_view key, const json::object& wrapper, const Path& path) {
    const std::string text = json::serialize(json::object{{"v", wrapper}});
    bson_error_t error;
    const Bson parsed{bson_new_from_json(reinterpret_cast<const std::uint8_t*>(text.data()),
                                         static_cast<ssize_t>(text.size()), &error)};
    bson_iter_t iter;
    if (!parsed.get() || !bson_iter_init_find(&iter, parsed.get(), "v"))
        fail(&path, "malformed Extended JSON wrapper");
    const bool ok = bson_append_iter(&out, key.data(), static_cast<int>(key.size()), &iter);
    appended(ok, path);
}

void append_object(bson_t& out, std::string_view key, const json::object& object, const Path& path,
                   std::size_t depth) {
    if (!object.empty()) {
        const std::string_view first = object.begin()->key();
        if (object.size() == 1 && first == "$oid") return append_oid(out, key, object.begin()->value(), path);
        if (object.size() == 1 && first == "$date")
            return append_date(out, key, object.begin()->value(), path);
        if (object.size() <= 2 && names_other_bson_type(first))
            return append_other_type(out, key, object, path);
    }
    bson_t child;
    appended(bson_append_document_begin(&out, key.data(), static_cast<int>(key.size()), &child), path);
    append_members(child, object, &path, depth + 1);
    appended(bson_append_document_end(&out, &child), path);
}

void append_array(bson_t& out, std::string_view key, const json::array& array, const Path& path,
                  std::size_t depth) {
    bson_t child;
    appended(bson_append_array_begin(&out, key.data(), static_cast<int>(key.size()), &child), path);
    std::array<char, 16> buffer{};
    for (std::size_t i = 0; i < array.size(); ++i) {
        const char* index = nullptr;
        const std::size_t length =
            bson_uint32_to_string(static_cast<std::uint32_t>(i), &index, buffer.data(), buffer.size());
        const std::string_view index_key{index, length};
        append_value(child, index_key, array[i], Path{&path, index_key}, depth + 1);
    }
    appended(bson_append_array_end(&out, &child), path);
}

void append_value(bson_t& out, std::string_view key, const json::value& value, const Path& path,
                  std::size_t depth) {
    const char* k = key.data();
    const int klen = static_cast<int>(key.size());
    switch (value.kind()) {
        case json::kind::null:
            return appended(bson_append_null(&out, k, klen), path);
        case json::kind::bool_:
            return appended(bson_append_bool(&out, k, klen, value.get_bool()), path);
        case json::kind::double_:
            return appended(bson_append_double(&out, k, klen, value.get_double()), path);
        case json::kind::uint64:
            if (value.get_uint64() > static_cast<std::uint64_t>(INT64_MAX))
                fail(&path, "integer above the int64 range");
            [[fallthrough]];
        case json::kind::int64: {
            const std::int64_t n =
                value.is_int64() ? value.get_int64() : static_cast<std::int64_t>(value.get_uint64());
            if (n >= INT32_MIN && n <= INT32_MAX)
                return appended(bson_append_int32(&out, k, klen, static_cast<std::int32_t>(n)), path);
            return appended(bson_append_int64(&out, k, klen, n), path);
        }
        case json::kind::string: {
            const json::string& s = value.get_string();
            if (s.size() > INT_MAX - 1) fail(&path, "string too long");
            if (!is_utf8(s)) fail(&path, "string is not valid UTF-8");
            return appended(bson_append_utf8(&out, k, klen, s.data(), static_cast<int>(s.size())), path);
        }
        case json::kind::array:
            if (depth >= max_nesting_depth) fail(&path, "nesting too deep");
            return append_array(out, key, value.get_array(), path, depth);
        case json::kind::object:
            if (depth >= max_nesting_depth) fail(&path, "nesting too deep");
            return append_object(out, key, value.get_object(), path, depth);
    }
}

// --- BSON -> JSON ----------------------------------------------------------------------

json::value to_value(const bson_iter_t& iter, const Path& path, std::size_t depth);

// Iterates the document or array `iter` points into; `visit(key, value)` for each element.
template <typename Visit>
void for_each_element(const bson_iter_t& iter, const Path& path, std::size_t depth, Visit visit) {
    if (depth >= max_nesting_depth) fail(&path, "nesting too deep");
    bson_iter_t child;
    if (!bson_iter_recurse(&iter, &child)) fail(&path, "corrupt BSON");
    while (bson_iter_next(&child)) {
        const std::string_view key{bson_iter_key(&child), bson_iter_key_len(&child)};
        visit(key, to_value(child, Path{&path, key}, depth + 1));
    }
    // bson_iter_next stops early, with an error offset, at a malformed or unknown element.
    if (child.err_off != 0) fail(&path, "corrupt BSON");
}

// Any other BSON type, as libbson spells it in relaxed Extended JSON.
json::value other_type_to_json(const bson_iter_t& iter, const Path& path) {
    bson_t single;
    bson_init(&single);
    char* text = nullptr;
    std::size_t length = 0;
    if (bson_append_iter(&single, "v", 1, &iter)) text = bson_as_relaxed_extended_json(&single, &length);
    bson_destroy(&single);
    if (!text) fail(&path, "BSON value with no Extended JSON form");
    // A code-with-scope holds a whole document: Boost.JSON's default limit of 32 levels would
    // refuse scopes that to_bson() writes (libbson's JSON reader takes up to 100).
    json::parse_options options;
    options.max_depth = max_nesting_depth;
    boost::system::error_code ec;
    json::value parsed = json::parse(std::string_view{text, length}, ec, {}, options);
    bson_free(text);
    if (ec || !parsed.is_object() || !parsed.get_object().contains("v"))
        fail(&path, "BSON value with no Extended JSON form");
    return std::move(parsed.get_object()["v"]);
}

json::value to_value(const bson_iter_t& iter, const Path& path, std::size_t depth) {
    switch (bson_iter_type(&iter)) {
        case BSON_TYPE_UTF8: {
            std::uint32_t length = 0;
            const char* text = bson_iter_utf8(&iter, &length);
            return repaired_utf8(std::string_view{text, length});
        }
        case BSON_TYPE_INT32:
            return static_cast<std::int64_t>(bson_iter_int32(&iter));
        case BSON_TYPE_INT64:
            return bson_iter_int64(&iter);
        case BSON_TYPE_DOUBLE: {
            const double d = bson_iter_double(&iter);
            if (std::isfinite(d)) return d;
            return json::object{{"$numberDouble", std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"}};
        }
        case BSON_TYPE_BOOL:
            return bson_iter_bool(&iter);
        case BSON_TYPE_NULL:
            return nullptr;
        case BSON_TYPE_DATE_TIME:
            return date_to_json(bson_iter_date_time(&iter));
        case BSON_TYPE_OID: {
            std::array<char, 25> hex{};
            bson_oid_to_string(bson_iter_oid(&iter), hex.data());
            return json::object{{"$oid", std::string_view{hex.data(), 24}}};
        }
        case BSON_TYPE_DOCUMENT: {
            json::object object;
            for_each_element(iter, path, depth, [&](std::string_view key, json::value&& value) {
                object.insert_or_assign(repaired_utf8(key), std::move(value));
            });
            return object;
        }
        case BSON_TYPE_ARRAY: {
            json::array array;
            for_each_element(iter, path, depth, [&](std::string_view, json::value&& value) {
                array.push_back(std::move(value));
            });
            return array;
        }
        default:
            return other_type_to_json(iter, path);
    }
}

}  // namespace

void append_json(bson_t& out, const json::object& object) { append_members(out, object, nullptr, 1); }

Bson to_bson(const json::object& object) {
    Bson document;
    append_json(*document.get(), object);
    return document;
}

json::object to_json(const bson_t& document) {
    bson_iter_t iter;
    if (!bson_iter_init(&iter, &document)) throw ConversionError{"corrupt BSON at (top level)"};
    json::object object;
    while (bson_iter_next(&iter)) {
        const std::string_view key{bson_iter_key(&iter), bson_iter_key_len(&iter)};
        object.insert_or_assign(repaired_utf8(key), to_value(iter, Path{nullptr, key}, 1));
    }
    if (iter.err_off != 0) throw ConversionError{"corrupt BSON at (top level)"};
    return object;
}

}  // namespace cvgate::clients::mongo
