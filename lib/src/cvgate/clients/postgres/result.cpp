#include <cvgate/clients/postgres/result.hpp>

#include <cvgate/clients/client_error.hpp>

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <limits>

namespace cvgate::clients::postgres {
namespace {

[[noreturn]] void bad_value(int row, int col, std::string_view what) {
    throw ClientError{
        ErrorKind::rejected, Dependency::postgres,
        "row " + std::to_string(row) + ", column " + std::to_string(col) + ": " + std::string{what}};
}

template <typename T>
T parse_number(std::string_view text, int row, int col, std::string_view type) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
        bad_value(row, col, "value is not " + std::string{type});
    return value;
}

}  // namespace

void Result::Clear::operator()(pg_result* r) const noexcept { PQclear(r); }

Result::Result(pg_result* owned) noexcept : result_{owned} {}

int Result::rows() const noexcept { return result_ ? PQntuples(result_.get()) : 0; }
int Result::columns() const noexcept { return result_ ? PQnfields(result_.get()) : 0; }

std::int64_t Result::affected_rows() const noexcept {
    if (!result_) return 0;
    const char* tuples = PQcmdTuples(result_.get());
    return tuples && *tuples ? std::strtoll(tuples, nullptr, 10) : 0;
}

std::string_view Result::command_tag() const noexcept {
    return result_ ? std::string_view{PQcmdStatus(result_.get())} : std::string_view{};
}

int Result::column(std::string_view name) const {
    for (int c = 0; c < columns(); ++c)
        if (name == PQfname(result_.get(), c)) return c;
    throw ClientError{ErrorKind::rejected, Dependency::postgres,
                      "result has no column \"" + std::string{name} + "\""};
}

bool Result::is_null(int row, int col) const {
    if (row < 0 || row >= rows() || col < 0 || col >= columns()) bad_value(row, col, "out of range");
    return PQgetisnull(result_.get(), row, col) != 0;
}

std::string_view Result::text(int row, int col) const {
    if (is_null(row, col)) return {};
    return {PQgetvalue(result_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
}

std::string_view Result::checked_text(int row, int col) const {
    if (is_null(row, col)) bad_value(row, col, "unexpected NULL");
    return text(row, col);
}

std::string Result::parse(int row, int col, std::string*) const {
    return std::string{checked_text(row, col)};
}
std::string_view Result::parse(int row, int col, std::string_view*) const { return checked_text(row, col); }

std::int64_t Result::parse(int row, int col, std::int64_t*) const {
    return parse_number<std::int64_t>(checked_text(row, col), row, col, "an integer");
}

int Result::parse(int row, int col, int*) const {
    return parse_number<int>(checked_text(row, col), row, col, "a 32-bit integer");
}

double Result::parse(int row, int col, double*) const {
    const std::string_view text = checked_text(row, col);
    // PostgreSQL spells the special values its own way; from_chars wants inf/nan.
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    return parse_number<double>(text, row, col, "a number");
}

bool Result::parse(int row, int col, bool*) const {
    const std::string_view text = checked_text(row, col);
    if (text == "t") return true;
    if (text == "f") return false;
    bad_value(row, col, "value is not a boolean");
}

}  // namespace cvgate::clients::postgres
