#pragma once
// UUID v4: generation (lowercase, 36 characters) and validation of the canonical form.

#include <string>
#include <string_view>

namespace cvgate::ids {

// A random (version 4, variant 1) UUID in lowercase canonical form. Seeded per thread
// from the OS's entropy source; cheap enough for every request.
std::string uuid_v4();
// The same, written over `out` (whose capacity is kept: no allocation once it has held one).
void assign_uuid_v4(std::string& out);

// True for the canonical 8-4-4-4-12 hex form with version 4 and variant 1, any case.
bool is_uuid_v4(std::string_view text) noexcept;

}  // namespace cvgate::ids
