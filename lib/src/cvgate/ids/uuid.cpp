#include <cvgate/ids/uuid.hpp>

#include <cvgate/ids/random.hpp>

#include <array>
#include <cstdint>
#include <cstring>

namespace cvgate::ids {
namespace {

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string uuid_v4() {
    std::string out;
    assign_uuid_v4(out);
    return out;
}

void assign_uuid_v4(std::string& out) {
    // 32 random hex digits, then the version and variant digits set, then the dashes.
    std::array<char, 32> digits{};
    write_hex(random_u64(), digits.data());
    write_hex(random_u64(), digits.data() + 16);
    static constexpr char variant[] = "89ab";
    digits[12] = '4';                                                                          // version 4
    digits[16] = variant[(digits[16] <= '9' ? digits[16] - '0' : digits[16] - 'a' + 10) & 3];  // variant 1
    std::array<char, 36> text{};
    const char* from = digits.data();
    char* to = text.data();
    for (const std::size_t group : {8, 4, 4, 4, 12}) {
        if (to != text.data()) *to++ = '-';
        std::memcpy(to, from, group);
        to += group;
        from += group;
    }
    out.assign(text.data(), text.size());
}

bool is_uuid_v4(std::string_view text) noexcept {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_position ? text[i] != '-' : !is_hex(text[i])) return false;
    }
    const char variant = text[19];
    return text[14] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b' ||
                               variant == 'A' || variant == 'B');
}

}  // namespace cvgate::ids
