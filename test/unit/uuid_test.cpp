// UUID v4 generation and the random hex it is made of: the canonical form, the version and
// variant digits, every other digit random, and an id written over a reused string in place.

#include <cvgate/ids/random.hpp>
#include <cvgate/ids/uuid.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <set>
#include <string>

using namespace cvgate;

TEST_CASE("write_hex writes a word's bytes as lowercase hex, lowest byte first", "[uuid]") {
    std::array<char, 16> out{};
    ids::write_hex(0x0123456789abcdefULL, out.data());
    CHECK(std::string(out.data(), out.size()) == "efcdab8967452301");
    ids::write_hex(0, out.data());
    CHECK(std::string(out.data(), out.size()) == "0000000000000000");
}

TEST_CASE("uuid_v4 is canonical, version 4, variant 1, and never repeats", "[uuid]") {
    constexpr int count = 20'000;
    std::set<std::string> seen;
    std::array<std::set<char>, 36> digits_at;
    for (int i = 0; i < count; ++i) {
        const std::string id = ids::uuid_v4();
        REQUIRE(ids::is_uuid_v4(id));
        for (std::size_t at = 0; at < id.size(); ++at) {
            const char c = id[at];
            REQUIRE((c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));  // lowercase
            digits_at[at].insert(c);
        }
        seen.insert(id);
    }
    CHECK(seen.size() == count);
    for (std::size_t at = 0; at < 36; ++at) {
        INFO("position " << at);
        if (at == 8 || at == 13 || at == 18 || at == 23)
            CHECK(digits_at[at] == std::set<char>{'-'});
        else if (at == 14)
            CHECK(digits_at[at] == std::set<char>{'4'});
        else if (at == 19)
            CHECK(digits_at[at] == std::set<char>{'8', '9', 'a', 'b'});
        else
            CHECK(digits_at[at].size() == 16);  // no digit stuck: every one of the 16 turns up
    }
}

TEST_CASE("assign_uuid_v4 writes over a string in place, once it has held one", "[uuid]") {
    std::string id;
    ids::assign_uuid_v4(id);
    const char* storage = id.data();
    const std::string first = id;
    for (int i = 0; i < 100; ++i) {
        ids::assign_uuid_v4(id);
        CHECK(ids::is_uuid_v4(id));
        CHECK(id.data() == storage);
    }
    CHECK(id != first);
}
