#include <cvgate/text/json_number.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <string_view>

namespace cvgate::text {

double readable(double value) noexcept {
    if (!std::isfinite(value)) return value;
    const double scale = std::fabs(value) < 1 ? 1000.0 : 100.0;
    const double scaled = value * scale;
    if (std::fabs(scaled) >= 1e15) return value;  // nothing after the point worth rounding
    return std::round(scaled) / scale;
}

void append_json_number(std::string& out, double value) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    char buf[64];
    const double magnitude = std::fabs(value);
    const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
    const auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                                 : std::to_chars(buf, buf + sizeof buf, value);
    const std::string_view text{buf, static_cast<std::size_t>(end - buf)};
    out += text;
    if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

namespace {

void write(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::double_:
            append_json_number(out, v.get_double());
            return;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& element : v.get_array()) {
                if (!first) out += ',';
                first = false;
                write(out, element);
            }
            out += ']';
            return;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& member : v.get_object()) {
                if (!first) out += ',';
                first = false;
                out += boost::json::serialize(member.key());
                out += ':';
                write(out, member.value());
            }
            out += '}';
            return;
        }
        default:  // strings, integers, booleans, null: Boost.JSON writes them as anyone would
            out += boost::json::serialize(v);
            return;
    }
}

}  // namespace

std::string to_json(const boost::json::value& value) {
    std::string out;
    write(out, value);
    return out;
}

}  // namespace cvgate::text
