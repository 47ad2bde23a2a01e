#include <cvgate/jobs/fingerprint.hpp>
#include <cvgate/jobs/idempotency.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace {

using cvgate::jobs::Fingerprint;

std::string of(std::initializer_list<std::string> pieces, std::string_view data, std::size_t chunk) {
    Fingerprint f;
    for (const auto& p : pieces) f.add(p);
    for (std::size_t i = 0; i < data.size(); i += chunk) f.data(data.substr(i, chunk));
    return f.hex();
}

}  // namespace

TEST_CASE("a request's fingerprint depends on its content, not on how the network cut it", "[idempotency]") {
    const std::string bytes(1000, 'x');
    const auto whole = of({"jd_text", "a job"}, bytes, 1000);
    CHECK(whole.size() == 40);
    CHECK(of({"jd_text", "a job"}, bytes, 7) == whole);
    CHECK(of({"jd_text", "a job"}, bytes, 1) == whole);
    CHECK(of({"jd_text", "a jo"}, bytes, 1000) != whole);
    CHECK(of({"jd_tex", "ta job"}, bytes, 1000) != whole);  // pieces never run together
    CHECK(of({"jd_text", "a job"}, bytes + "y", 1000) != whole);
}

TEST_CASE("an Idempotency-Key is 1 to 128 characters of A-Z a-z 0-9 . _ : -", "[idempotency]") {
    using cvgate::jobs::is_idempotency_key;
    CHECK(is_idempotency_key("a"));
    CHECK(is_idempotency_key("order-42:retry_1.x"));
    CHECK(is_idempotency_key(std::string(128, 'k')));
    CHECK_FALSE(is_idempotency_key(""));
    CHECK_FALSE(is_idempotency_key(std::string(129, 'k')));
    CHECK_FALSE(is_idempotency_key("has space"));
    CHECK_FALSE(is_idempotency_key("slash/"));
}
