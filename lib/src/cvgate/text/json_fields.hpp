#pragma once
// Fields of a JSON object whose shape another service decides (the pipeline's hot document, its
// result entries): a field that is missing or of another type reads as absent, never throws.
// One definition for the flows and the adapters.

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cvgate::text {

inline std::optional<std::string> string_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v && v->is_string()) return std::string{v->get_string()};
    return std::nullopt;
}

// A number in any of JSON's representations, as a double.
inline std::optional<double> number_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    if (v->is_double()) return v->get_double();
    return std::nullopt;
}

// A count: an integer as it is, a double cut to its whole part.
inline std::optional<std::int64_t> integer_field(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

// How many elements the field's array holds; 0 when it is missing or not an array.
inline std::size_t array_size(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_array() ? v->get_array().size() : 0;
}

}  // namespace cvgate::text
