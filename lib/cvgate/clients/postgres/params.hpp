#pragma once
// Query parameters: every value travels as a text parameter ($1, $2...), never inside the SQL.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvgate::clients::postgres {

// One entry per placeholder; std::nullopt is SQL NULL.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

// Text forms PostgreSQL parses back exactly (a double keeps all its digits).
Param param(std::string_view value);
Param param(const char* value);
Param param(std::int64_t value);
Param param(int value);
Param param(double value);
Param param(bool value);
template <typename T>
Param param(const std::optional<T>& value) {
    return value ? param(*value) : std::nullopt;
}

}  // namespace cvgate::clients::postgres
