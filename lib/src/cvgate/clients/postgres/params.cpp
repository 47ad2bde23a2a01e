#include <cvgate/clients/postgres/params.hpp>

#include <array>
#include <charconv>

namespace cvgate::clients::postgres::impl {

std::string float_text(double value) {
    // Shortest round-trip form; std::to_string would keep six decimals only.
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    std::string text{buf.data(), ec == std::errc{} ? end : buf.data()};
    if (text == "inf") return "Infinity";
    if (text == "-inf") return "-Infinity";
    if (text == "nan" || text == "-nan") return "NaN";
    return text;
}

}  // namespace cvgate::clients::postgres::impl
