#pragma once
// UTF-8 validation, one definition for every place that must not pass invalid text on
// (log lines, stored file names, jd_text).

#include <cstddef>
#include <optional>
#include <string_view>

namespace cvgate::text {

// Length (1-4) of the well-formed UTF-8 sequence that starts `s`, or 0 when it is not one
// (bad lead or continuation byte, truncated, overlong, surrogate, beyond U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s) noexcept;

// How many code points `s` holds, or nullopt when it is not valid UTF-8.
std::optional<std::size_t> utf8_code_points(std::string_view s) noexcept;

}  // namespace cvgate::text
