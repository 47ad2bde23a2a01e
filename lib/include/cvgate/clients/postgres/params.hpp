#pragma once
// Query parameters: every value travels as a text parameter ($1, $2...), never inside the SQL.

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace cvgate::clients::postgres {

// One parameter's text; std::nullopt is SQL NULL.
using Param = std::optional<std::string>;

namespace impl {
std::string float_text(double value);  // shortest text that parses back to the same double
template <typename T>
inline constexpr bool is_optional = false;
template <typename T>
inline constexpr bool is_optional<std::optional<T>> = true;
}  // namespace impl

// The text PostgreSQL parses back exactly: strings as they are, integers, doubles with all
// their digits, bools as true/false, an empty optional or std::nullopt as NULL.
template <typename T>
Param param(const T& value) {
    if constexpr (std::is_same_v<T, Param>) {
        return value;
    } else if constexpr (std::is_same_v<T, std::nullopt_t>) {
        return std::nullopt;
    } else if constexpr (impl::is_optional<T>) {
        return value ? param(*value) : std::nullopt;
    } else if constexpr (std::is_same_v<T, bool>) {
        return std::string{value ? "true" : "false"};
    } else if constexpr (std::is_integral_v<T>) {
        return std::to_string(value);
    } else if constexpr (std::is_floating_point_v<T>) {
        return impl::float_text(static_cast<double>(value));
    } else {
        static_assert(std::is_convertible_v<const T&, std::string_view>,
                      "no text form for this parameter type");
        return std::string{std::string_view{value}};
    }
}

// $1..$n in order. Built from values directly — `{job_id, 3, std::nullopt}` — by a
// variadic constructor rather than an initializer_list, which GCC 12 refuses inside a
// co_await (see the GCC 12 note in exec/offload.hpp).
class Params {
public:
    Params() = default;
    template <typename... Args>
    requires(sizeof...(Args) > 0 &&
             !(sizeof...(Args) == 1 && (std::same_as<std::remove_cvref_t<Args>, Params> && ...)))
        Params(const Args&... args) {  // NOLINT(google-explicit-constructor): `{a, b}` is the point
        values_.reserve(sizeof...(Args));
        (values_.push_back(param(args)), ...);
    }

    template <typename T>
    void add(const T& value) {
        values_.push_back(param(value));
    }

    std::size_t size() const noexcept { return values_.size(); }
    bool empty() const noexcept { return values_.empty(); }
    const Param& operator[](std::size_t i) const { return values_[i]; }
    auto begin() const noexcept { return values_.begin(); }
    auto end() const noexcept { return values_.end(); }

private:
    std::vector<Param> values_;
};

}  // namespace cvgate::clients::postgres
