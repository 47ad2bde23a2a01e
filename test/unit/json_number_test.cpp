// text/json_number: doubles as people read them, in every JSON cvgate writes.

#include <cvgate/text/json_number.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

using cvgate::text::append_json_number;
using cvgate::text::readable;
using cvgate::text::to_json;

namespace {

std::string number(double v) {
    std::string out;
    append_json_number(out, v);
    return out;
}

}  // namespace

TEST_CASE("a measurement is rounded to 2 decimals, 3 below 1", "[json_number]") {
    CHECK(number(readable(3.194668)) == "3.19");
    CHECK(number(readable(1234.5678)) == "1234.57");
    CHECK(number(readable(0.41234)) == "0.412");
    CHECK(number(readable(0.0004)) == "0.0");
    CHECK(number(readable(-2.555)) == "-2.56");
    CHECK(number(readable(2000.0)) == "2000.0");
    CHECK(std::isnan(readable(std::nan(""))));
}

TEST_CASE("a double is written in plain decimals with no digit more than it needs", "[json_number]") {
    CHECK(number(3.19) == "3.19");
    CHECK(number(0.1) == "0.1");
    CHECK(number(85.0) == "85.0");
    CHECK(number(0.0) == "0.0");
    CHECK(number(-0.5) == "-0.5");
    CHECK(number(1.0 / 3) == "0.3333333333333333");
    CHECK(number(1e20) == "1e+20");
    CHECK(number(1.5e-9) == "1.5e-09");
    CHECK(number(std::numeric_limits<double>::infinity()) == "null");
    CHECK(number(std::nan("")) == "null");
    // Every one of them is JSON, and reads back as the very same double.
    for (double v : {3.19, 0.1, 85.0, 1.0 / 3, 1e20, 1.5e-9, 123456.789, -7.25e-7, 9.999e14,
                     std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()}) {
        INFO(number(v));
        const auto back = boost::json::parse(number(v));
        REQUIRE(back.is_double());
        CHECK(back.get_double() == v);
    }
}

TEST_CASE("to_json writes what boost::json::serialize writes, doubles aside", "[json_number]") {
    const auto doc = boost::json::parse(
        R"({"a":[1,-2,18446744073709551615,true,null,"x\"\u0001é"],"b":{"latency_ms":3.19,"score":85.0},"":{}})");
    CHECK(
        to_json(doc) ==
        R"({"a":[1,-2,18446744073709551615,true,null,"x\"\u0001é"],"b":{"latency_ms":3.19,"score":85.0},"":{}})");
    CHECK(boost::json::parse(to_json(doc)) == doc);
    CHECK(boost::json::serialize(boost::json::value(3.19)) == "3.19E0");  // why to_json exists
}
