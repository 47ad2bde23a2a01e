#include <cvgate/clients/mongo/bson_json.hpp>

// The library links libbson privately, so its include directory does not reach the tests;
// bson.h includes its siblings by relative path, which makes this spelling work.
#include <libbson-1.0/bson/bson.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace json = boost::json;
namespace mongo = cvgate::clients::mongo;

namespace {

json::object round_trip(const json::object& in) {
    const mongo::Bson bson = mongo::to_bson(in);
    return mongo::to_json(*bson.get());
}

// Order-sensitive comparison: boost::json::object's == ignores member order.
void require_same(const json::object& actual, const json::object& expected) {
    CHECK(json::serialize(actual) == json::serialize(expected));
    CHECK(actual == expected);
}

bson_type_t type_of(const mongo::Bson& bson, const char* dotted_key) {
    bson_iter_t iter;
    bson_iter_t found;
    REQUIRE(bson_iter_init(&iter, bson.get()));
    REQUIRE(bson_iter_find_descendant(&iter, dotted_key, &found));
    return bson_iter_type(&found);
}

json::object job_document() {
    return json::parse(R"({
        "_id": "550e8400-e29b-41d4-a716-446655440000",
        "correlation_id": "abc-123",
        "jd_text": "Wir suchen Entwickler:innen für Zürich — 日本語も可 🚀",
        "status": "pending",
        "expected_files": 3,
        "results": [
            {"cv_id": "550e8400_000", "candidate_name": "John Doe", "match_score": 85,
             "skills": ["Python", "FastAPI"], "experience_years": 5.5, "linkedin_url": null,
             "risk_assessment": {"level": "low", "flags": []}, "verified": true}
        ],
        "errors": [{"cv_id": "550e8400_001", "filename": "b.pdf", "error": "unreadable"}],
        "created_at": "2025-11-17T10:30:00.123456",
        "updated": {"$date": "2025-11-17T10:30:00.000Z"},
        "ref": {"$oid": "6553a1b2c3d4e5f601234567"}
    })")
        .as_object();
}

}  // namespace

TEST_CASE("json -> bson -> json is the identity for every value a job document holds", "[bson_json]") {
    require_same(round_trip(job_document()), job_document());
}

TEST_CASE("json -> bson -> json keeps member order, nested documents and arrays", "[bson_json]") {
    const json::object in =
        json::parse(R"({"z": 1, "a": {"y": [3, [2, {"b": 1, "a": 2}], []], "x": {}}, "m": [[], {}]})")
            .as_object();
    require_same(round_trip(in), in);
}

TEST_CASE("integers become int32 when they fit and int64 otherwise, as pymongo stores them", "[bson_json]") {
    const json::object in{{"zero", 0},
                          {"small", -42},
                          {"i32_max", std::numeric_limits<std::int32_t>::max()},
                          {"i32_min", std::numeric_limits<std::int32_t>::min()},
                          {"above_i32", std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1},
                          {"below_i32", std::int64_t{std::numeric_limits<std::int32_t>::min()} - 1},
                          {"i64_max", std::numeric_limits<std::int64_t>::max()},
                          {"i64_min", std::numeric_limits<std::int64_t>::min()},
                          {"unsigned_small", std::uint64_t{7}}};
    const mongo::Bson bson = mongo::to_bson(in);
    CHECK(type_of(bson, "zero") == BSON_TYPE_INT32);
    CHECK(type_of(bson, "small") == BSON_TYPE_INT32);
    CHECK(type_of(bson, "i32_max") == BSON_TYPE_INT32);
    CHECK(type_of(bson, "i32_min") == BSON_TYPE_INT32);
    CHECK(type_of(bson, "above_i32") == BSON_TYPE_INT64);
    CHECK(type_of(bson, "below_i32") == BSON_TYPE_INT64);
    CHECK(type_of(bson, "i64_max") == BSON_TYPE_INT64);
    CHECK(type_of(bson, "i64_min") == BSON_TYPE_INT64);
    CHECK(type_of(bson, "unsigned_small") == BSON_TYPE_INT32);

    const json::object out = mongo::to_json(*bson.get());
    CHECK(out.at("above_i32").as_int64() == 2147483648);
    CHECK(out.at("i64_min").as_int64() == std::numeric_limits<std::int64_t>::min());
    CHECK(out.at("unsigned_small").as_int64() == 7);  // comes back signed
}

TEST_CASE("an unsigned integer above int64 has no BSON form and is refused, naming the field",
          "[bson_json]") {
    const json::object in{{"a", json::object{{"big", std::numeric_limits<std::uint64_t>::max()}}}};
    CHECK_THROWS_MATCHES(mongo::to_bson(in), mongo::ConversionError,
                         Catch::Message("integer above the int64 range at a.big"));
}

TEST_CASE("doubles stay doubles, integral ones included; non-finite ones use $numberDouble", "[bson_json]") {
    const json::object in{{"score", 85.5},
                          {"integral", 3.0},
                          {"tiny", 5e-324},
                          {"huge", 1.7976931348623157e308},
                          {"negative_zero", -0.0}};
    const mongo::Bson bson = mongo::to_bson(in);
    CHECK(type_of(bson, "integral") == BSON_TYPE_DOUBLE);
    const json::object out = mongo::to_json(*bson.get());
    require_same(out, in);
    CHECK(out.at("integral").is_double());
    CHECK(std::signbit(out.at("negative_zero").as_double()));

    const json::object special{{"nan", json::object{{"$numberDouble", "NaN"}}},
                               {"inf", json::object{{"$numberDouble", "Infinity"}}},
                               {"minus_inf", json::object{{"$numberDouble", "-Infinity"}}}};
    const mongo::Bson special_bson = mongo::to_bson(special);
    CHECK(type_of(special_bson, "nan") == BSON_TYPE_DOUBLE);
    require_same(mongo::to_json(*special_bson.get()), special);
}

TEST_CASE("strings keep any UTF-8 and embedded NUL characters", "[bson_json]") {
    const std::string with_nul{"before\0after", 12};
    const json::object in{{"nul", with_nul},
                          {"empty", ""},
                          {"emoji", "\xF0\x9F\x9A\x80 \xE2\x80\x94 \xC3\xBC \xE6\x97\xA5"},
                          {"max", "\xF4\x8F\xBF\xBF"},
                          {"ключ 🔑", "value"}};
    const json::object out = round_trip(in);
    require_same(out, in);
    CHECK(out.at("nul").as_string().size() == 12);
}

TEST_CASE("invalid UTF-8 in BSON comes out as U+FFFD, never as invalid JSON", "[bson_json]") {
    mongo::Bson bson;
    const char bad_value[] = "ok\xC3(\xED\xA0\x80\xF8\x80\xE2\x82";  // bad tail, surrogate, F8, truncated
    BSON_APPEND_UTF8(bson.get(), "s", "placeholder");
    bson_append_utf8(bson.get(), "t", 1, bad_value, static_cast<int>(sizeof bad_value - 1));
    bson_append_int32(bson.get(), "k\xFF", 2, 1);
    const json::object out = mongo::to_json(*bson.get());
    const std::string replaced{out.at("t").as_string()};
    CHECK(replaced.rfind("ok\xEF\xBF\xBD(", 0) == 0);
    CHECK(replaced.find('\xF8') == std::string::npos);
    CHECK(out.contains("k\xEF\xBF\xBD"));
    // Re-serialising and re-parsing proves the output is valid UTF-8 JSON.
    CHECK_NOTHROW(json::parse(json::serialize(out)));
}

TEST_CASE("invalid UTF-8 or a NUL in a JSON key is refused before it reaches MongoDB", "[bson_json]") {
    CHECK_THROWS_AS(mongo::to_bson(json::object{{"s", "\xC0\xAF"}}), mongo::ConversionError);  // overlong '/'
    CHECK_THROWS_AS(mongo::to_bson(json::object{{"s", "\xED\xA0\x80"}}), mongo::ConversionError);
    CHECK_THROWS_AS(mongo::to_bson(json::object{{std::string{"a\0b", 3}, 1}}), mongo::ConversionError);
    CHECK_THROWS_AS(mongo::to_bson(json::object{{"\xFF", 1}}), mongo::ConversionError);
}

TEST_CASE("dates are {\"$date\": ISO-8601} for 1970-9999 and {\"$numberLong\"} outside", "[bson_json]") {
    mongo::Bson bson;
    bson_append_date_time(bson.get(), "created", -1, 1763375400123);  // 2025-11-17T10:30:00.123Z
    bson_append_date_time(bson.get(), "epoch", -1, 0);
    bson_append_date_time(bson.get(), "last", -1, 253402300799999);
    bson_append_date_time(bson.get(), "before", -1, -1);
    bson_append_date_time(bson.get(), "after", -1, 253402300800000);
    const json::object out = mongo::to_json(*bson.get());
    const json::object expected = json::parse(R"({
        "created": {"$date": "2025-11-17T10:30:00.123Z"},
        "epoch": {"$date": "1970-01-01T00:00:00.000Z"},
        "last": {"$date": "9999-12-31T23:59:59.999Z"},
        "before": {"$date": {"$numberLong": "-1"}},
        "after": {"$date": {"$numberLong": "253402300800000"}}
    })")
                                      .as_object();
    require_same(out, expected);
    require_same(round_trip(expected), expected);
}

TEST_CASE("a $date string may carry an offset or more digits; the BSON date is UTC milliseconds",
          "[bson_json]") {
    const auto millis = [](std::string_view text) {
        const mongo::Bson bson = mongo::to_bson(json::object{{"d", json::object{{"$date", text}}}});
        bson_iter_t iter;
        REQUIRE(bson_iter_init_find(&iter, bson.get(), "d"));
        REQUIRE(BSON_ITER_HOLDS_DATE_TIME(&iter));
        return bson_iter_date_time(&iter);
    };
    CHECK(millis("2025-11-17T10:30:00Z") == 1763375400000);
    CHECK(millis("2025-11-17T10:30:00.123456Z") == 1763375400123);
    CHECK(millis("2025-11-17T11:30:00.5+01:00") == 1763375400500);
    CHECK(millis("2025-11-17T05:00:00-0530") == 1763375400000);
    CHECK(millis("1969-12-31T23:59:59.999Z") == -1);
    CHECK(millis("2024-02-29T00:00:00Z") == 1709164800000);

    const mongo::Bson from_number = mongo::to_bson(json::object{{"d", json::object{{"$date", 42}}}});
    CHECK(type_of(from_number, "d") == BSON_TYPE_DATE_TIME);

    for (const char* bad : {"2025-11-17T10:30:00", "2025-11-17 10:30:00Z", "2025-02-30T00:00:00Z",
                            "2025-11-17T24:00:00Z", "2025-11-17T10:30:60Z", "2025-11-17T10:30:00.Z",
                            "2025-11-17T10:30:00Zjunk", "25-11-17T10:30:00Z", ""}) {
        INFO(bad);
        CHECK_THROWS_AS(mongo::to_bson(json::object{{"d", json::object{{"$date", bad}}}}),
                        mongo::ConversionError);
    }
}

TEST_CASE("a created_at string that looks like a date stays a string", "[bson_json]") {
    const mongo::Bson bson = mongo::to_bson(json::object{{"created_at", "2025-11-17T10:30:00.123456"}});
    CHECK(type_of(bson, "created_at") == BSON_TYPE_UTF8);
}

TEST_CASE("ObjectId is {\"$oid\": hex} both ways; a malformed $oid is refused", "[bson_json]") {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "6553a1b2c3d4e5f601234567");
    mongo::Bson bson;
    BSON_APPEND_OID(bson.get(), "_id", &oid);
    const json::object expected{{"_id", json::object{{"$oid", "6553a1b2c3d4e5f601234567"}}}};
    require_same(mongo::to_json(*bson.get()), expected);
    CHECK(type_of(mongo::to_bson(expected), "_id") == BSON_TYPE_OID);

    CHECK_THROWS_AS(mongo::to_bson(json::object{{"_id", json::object{{"$oid", "xyz"}}}}),
                    mongo::ConversionError);
    CHECK_THROWS_AS(mongo::to_bson(json::object{{"_id", json::object{{"$oid", 12}}}}),
                    mongo::ConversionError);
}

TEST_CASE("a document built with bson_append_* converts to the JSON one expects", "[bson_json]") {
    mongo::Bson bson;
    bson_t* doc = bson.get();
    BSON_APPEND_UTF8(doc, "_id", "550e8400-e29b-41d4-a716-446655440000");
    BSON_APPEND_INT32(doc, "expected_files", 3);
    BSON_APPEND_INT64(doc, "big", 5000000000);
    BSON_APPEND_DOUBLE(doc, "score", 0.25);
    BSON_APPEND_BOOL(doc, "use_delay", false);
    BSON_APPEND_NULL(doc, "nothing");
    bson_t results;
    BSON_APPEND_ARRAY_BEGIN(doc, "results", &results);
    bson_t first;
    BSON_APPEND_DOCUMENT_BEGIN(&results, "0", &first);
    BSON_APPEND_UTF8(&first, "cv_id", "550e8400_000");
    BSON_APPEND_INT32(&first, "match_score", 85);
    bson_append_document_end(&results, &first);
    BSON_APPEND_UTF8(&results, "1", "second");
    bson_append_array_end(doc, &results);
    BSON_APPEND_DATE_TIME(doc, "at", 1763375400000);

    const json::object expected = json::parse(R"({
        "_id": "550e8400-e29b-41d4-a716-446655440000", "expected_files": 3, "big": 5000000000,
        "score": 0.25, "use_delay": false, "nothing": null,
        "results": [{"cv_id": "550e8400_000", "match_score": 85}, "second"],
        "at": {"$date": "2025-11-17T10:30:00.000Z"}
    })")
                                      .as_object();
    require_same(mongo::to_json(*doc), expected);
}

TEST_CASE("other BSON types come out as Extended JSON and go back to the same type", "[bson_json]") {
    mongo::Bson bson;
    bson_decimal128_t decimal;
    REQUIRE(bson_decimal128_from_string("12.50", &decimal));
    BSON_APPEND_DECIMAL128(bson.get(), "decimal", &decimal);
    const std::uint8_t bytes[] = {1, 2, 3, 0, 255};
    BSON_APPEND_BINARY(bson.get(), "binary", BSON_SUBTYPE_BINARY, bytes, sizeof bytes);
    BSON_APPEND_TIMESTAMP(bson.get(), "ts", 1700000000, 7);
    BSON_APPEND_REGEX(bson.get(), "re", "^a.*", "i");
    BSON_APPEND_MINKEY(bson.get(), "min");
    BSON_APPEND_MAXKEY(bson.get(), "max");

    const json::object out = mongo::to_json(*bson.get());
    CHECK(out.at("decimal") == json::parse(R"({"$numberDecimal": "12.50"})"));
    CHECK(out.at("binary").as_object().contains("$binary"));
    CHECK(out.at("ts") == json::parse(R"({"$timestamp": {"t": 1700000000, "i": 7}})"));

    const mongo::Bson back = mongo::to_bson(out);
    CHECK(type_of(back, "decimal") == BSON_TYPE_DECIMAL128);
    CHECK(type_of(back, "binary") == BSON_TYPE_BINARY);
    CHECK(type_of(back, "ts") == BSON_TYPE_TIMESTAMP);
    CHECK(type_of(back, "re") == BSON_TYPE_REGEX);
    CHECK(type_of(back, "min") == BSON_TYPE_MINKEY);
    CHECK(type_of(back, "max") == BSON_TYPE_MAXKEY);
    CHECK(bson_equal(back.get(), bson.get()));

    CHECK_THROWS_AS(mongo::to_bson(json::object{{"x", json::object{{"$numberDecimal", 5}}}}),
                    mongo::ConversionError);
}

TEST_CASE("query and update operators pass through as plain documents", "[bson_json]") {
    const json::object filter = json::parse(R"({
        "_id": "j", "status": "complete", "results": {"$size": 3}, "errors": {"$size": 0},
        "name": {"$regex": "^a", "$options": "i"}, "kind": {"$type": "string"}
    })")
                                    .as_object();
    const mongo::Bson bson = mongo::to_bson(filter);
    CHECK(type_of(bson, "results") == BSON_TYPE_DOCUMENT);
    CHECK(type_of(bson, "name") == BSON_TYPE_DOCUMENT);
    CHECK(type_of(bson, "kind") == BSON_TYPE_DOCUMENT);
    require_same(mongo::to_json(*bson.get()), filter);

    const json::object update =
        json::parse(R"({"$push": {"results": {"cv_id": "x"}}, "$inc": {"n": 1}})").as_object();
    require_same(round_trip(update), update);
}

namespace {

json::value nested(std::size_t levels) {
    json::value v = "leaf";
    for (std::size_t i = 0; i < levels; ++i) {
        if (i % 2) {
            v = json::array{std::move(v)};
        } else {
            v = json::object{{"n", std::move(v)}};
        }
    }
    return v;
}

// A document nested `levels` deep, built with libbson directly (the JSON side refuses it).
mongo::Bson nested_bson(std::size_t levels) {
    mongo::Bson inner;
    BSON_APPEND_UTF8(inner.get(), "leaf", "x");
    for (std::size_t i = 0; i < levels; ++i) {
        mongo::Bson outer;
        BSON_APPEND_UTF8(outer.get(), "pad", "x");
        BSON_APPEND_DOCUMENT(outer.get(), "n", inner.get());
        inner = std::move(outer);
    }
    return inner;
}

}  // namespace

TEST_CASE("deep nesting converts up to the limit and is refused beyond it, both ways", "[bson_json]") {
    const json::object deep{{"n", nested(mongo::max_nesting_depth - 2)}};
    require_same(round_trip(deep), deep);

    const json::object too_deep{{"n", nested(mongo::max_nesting_depth + 10)}};
    CHECK_THROWS_WITH(mongo::to_bson(too_deep), Catch::Contains("nesting too deep"));

    CHECK_NOTHROW(mongo::to_json(*nested_bson(mongo::max_nesting_depth - 1).get()));
    CHECK_THROWS_AS(mongo::to_json(*nested_bson(mongo::max_nesting_depth).get()), mongo::ConversionError);
    CHECK_THROWS_AS(mongo::to_json(*nested_bson(1000).get()), mongo::ConversionError);
}

TEST_CASE("a code-with-scope nested deeper than Boost.JSON's default limit comes back", "[bson_json]") {
    // Found by test/fuzz/bson_json_fuzz: to_bson() wrote the scope, to_json() refused to read it.
    const json::object scope{{"n", nested(40)}};
    const json::object in{{"f", json::object{{"$code", "x"}, {"$scope", scope}}}};
    const mongo::Bson bson = mongo::to_bson(in);
    CHECK(type_of(bson, "f") == BSON_TYPE_CODEWSCOPE);
    require_same(mongo::to_json(*bson.get()), in);
}

TEST_CASE("corrupt BSON is refused, not read past its end", "[bson_json]") {
    mongo::Bson good =
        mongo::to_bson(json::object{{"a", 1}, {"sub", json::object{{"b", "text"}}}, {"c", true}});
    const std::uint8_t* data = bson_get_data(good.get());
    std::vector<std::uint8_t> bytes(data, data + good.get()->len);

    SECTION("an unknown element type") {
        bytes[4] = 0x7E;  // the type byte of "a"
    }
    SECTION("a string length past the end") {
        // "sub" document: type(1) "sub\0"(4) len(4) then "b": type(1) "b\0"(2) strlen(4)
        const std::size_t sub = 4 + 1 + 2 + 4;  // after element "a" (type, "a\0", int32)
        const std::size_t strlen_at = sub + 1 + 4 + 4 + 1 + 2;
        bytes[strlen_at] = 0xFF;
    }
    SECTION("a nested document length past the end") { bytes[4 + 1 + 2 + 4 + 1 + 4] = 0x7F; }
    bson_t view;
    REQUIRE(bson_init_static(&view, bytes.data(), bytes.size()));
    CHECK_THROWS_AS(mongo::to_json(view), mongo::ConversionError);
}
