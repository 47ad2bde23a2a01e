#pragma once
// What one upload (submit or add-cvs) may hold: its files and its job description.

#include <cstddef>
#include <cstdint>

namespace cvgate::jobs {

// The defaults, named once.
inline constexpr std::uint64_t default_max_file_size = 10ull << 20;
inline constexpr std::size_t default_max_files = 50;
inline constexpr std::size_t default_jd_min_length = 50;  // characters, trimmed
inline constexpr std::size_t default_jd_max_length = 10000;

struct Limits {
    std::uint64_t max_file_size = default_max_file_size;
    std::size_t max_files = default_max_files;
    std::size_t jd_min_length = default_jd_min_length;
    std::size_t jd_max_length = default_jd_max_length;
};

}  // namespace cvgate::jobs
