#pragma once
// Random bits for ids: one fast generator per thread, seeded from the OS's entropy source.
// Unpredictable enough to keep ids apart, not for secrets (keys, tokens).

#include <cstdint>

namespace cvgate::ids {

std::uint64_t random_u64();

}  // namespace cvgate::ids
