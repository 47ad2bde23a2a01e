#include <cvgate/ids/random.hpp>

#include <array>
#include <cstring>
#include <random>

namespace cvgate::ids {
namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// Every byte's two hex digits.
constexpr auto hex_pairs = [] {
    constexpr char digits[] = "0123456789abcdef";
    std::array<char, 512> pairs{};
    for (std::size_t b = 0; b < 256; ++b) {
        pairs[2 * b] = digits[b >> 4];
        pairs[2 * b + 1] = digits[b & 15];
    }
    return pairs;
}();

}  // namespace

std::uint64_t random_u64() {
    // Constant-initialised, so that reaching it costs no guard; seeded on a thread's first call.
    thread_local std::array<std::uint64_t, 4> s{};
    thread_local bool seeded = false;
    if (!seeded) {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
        std::array<std::uint32_t, 8> words{};
        seed.generate(words.begin(), words.end());
        for (std::size_t i = 0; i < 4; ++i) s[i] = (std::uint64_t{words[2 * i]} << 32) | words[2 * i + 1];
        if (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0) s[0] = 1;  // the one state it cannot leave
        seeded = true;
    }
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void write_hex(std::uint64_t word, char* out) noexcept {
    for (int i = 0; i < 8; ++i, word >>= 8) std::memcpy(out + 2 * i, &hex_pairs[2 * (word & 0xff)], 2);
}

}  // namespace cvgate::ids
