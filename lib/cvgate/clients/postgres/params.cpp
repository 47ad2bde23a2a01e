#include <cvgate/clients/postgres/params.hpp>

#include <array>
#include <charconv>

namespace cvgate::clients::postgres {

Param param(std::string_view value) { return std::string{value}; }
Param param(const char* value) { return value ? Param{value} : std::nullopt; }
Param param(std::int64_t value) { return std::to_string(value); }
Param param(int value) { return std::to_string(value); }
Param param(bool value) { return std::string{value ? "true" : "false"}; }

Param param(double value) {
    // Shortest round-trip form; std::to_string would keep six decimals only.
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    if (ec != std::errc{}) return std::nullopt;
    std::string text{buf.data(), end};
    if (text == "inf") return std::string{"Infinity"};
    if (text == "-inf") return std::string{"-Infinity"};
    if (text == "nan" || text == "-nan") return std::string{"NaN"};
    return text;
}

}  // namespace cvgate::clients::postgres
