#pragma once
// Random bits for ids: one fast generator per thread (xoshiro256**), seeded from the OS's
// entropy source. Unpredictable enough to keep ids apart, not for secrets (keys, tokens).

#include <cstdint>

namespace cvgate::ids {

std::uint64_t random_u64();

// The 16 lowercase hex digits of `word`'s 8 bytes, lowest byte first, written at `out`.
void write_hex(std::uint64_t word, char* out) noexcept;

}  // namespace cvgate::ids
