#pragma once
// The rows a statement returned (owner of a PGresult), read in text format through typed accessors.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

struct pg_result;  // PGresult, from libpq-fe.h

namespace cvgate::clients::postgres {

class Result {
public:
    Result() = default;  // no rows, no columns
    explicit Result(pg_result* owned) noexcept;

    int rows() const noexcept;
    int columns() const noexcept;
    bool empty() const noexcept { return rows() == 0; }
    // Rows an INSERT/UPDATE/DELETE touched (0 for other statements).
    std::int64_t affected_rows() const noexcept;
    // The command tag: "INSERT 0 1", "COMMIT", "ROLLBACK"...
    std::string_view command_tag() const noexcept;
    // Index of a named column; throws ClientError{rejected} if the result has none by that name.
    int column(std::string_view name) const;

    bool is_null(int row, int col) const;
    // The value as PostgreSQL printed it; valid while this Result lives. Empty for NULL.
    std::string_view text(int row, int col) const;

    // Typed read: std::string, std::string_view, std::int64_t, int, double, bool, or
    // std::optional of one of these (NULL -> nullopt). A NULL into a non-optional, or text
    // that does not parse as T, throws ClientError{rejected}.
    template <typename T>
    T get(int row, int col) const {
        if constexpr (is_optional<T>::value) {
            if (is_null(row, col)) return std::nullopt;
            return get<typename T::value_type>(row, col);
        } else {
            return parse(row, col, static_cast<T*>(nullptr));
        }
    }
    template <typename T>
    T get(int row, std::string_view col) const {
        return get<T>(row, column(col));
    }

private:
    template <typename T>
    struct is_optional : std::false_type {};
    template <typename T>
    struct is_optional<std::optional<T>> : std::true_type {};

    std::string_view checked_text(int row, int col) const;  // throws on NULL or out of range
    std::string parse(int row, int col, std::string*) const;
    std::string_view parse(int row, int col, std::string_view*) const;
    std::int64_t parse(int row, int col, std::int64_t*) const;
    int parse(int row, int col, int*) const;
    double parse(int row, int col, double*) const;
    bool parse(int row, int col, bool*) const;

    struct Clear {
        void operator()(pg_result* r) const noexcept;
    };
    std::unique_ptr<pg_result, Clear> result_;
};

}  // namespace cvgate::clients::postgres
