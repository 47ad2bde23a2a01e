#pragma once
// From what libpq reports to a ClientError whose text is safe to log.

#include <cvgate/clients/client_error.hpp>

#include <chrono>
#include <string>
#include <string_view>

struct pg_result;
struct pg_conn;

namespace cvgate::clients::postgres::impl {

// What a SQLSTATE means to a caller: conflict, timeout, unavailable, not_found, invalid_data or
// rejected.
ErrorKind kind_of_sqlstate(std::string_view sqlstate) noexcept;

// The first line of `message`, trimmed, with every occurrence of `secret` (the password,
// when the URL has one) masked.
std::string safe_text(std::string_view message, std::string_view secret);

// The password in a connection URL (or key=value string), to mask; throws rejected if it
// does not parse, without quoting it.
std::string password_of(const std::string& url);

// A failed statement's error: kind from its SQLSTATE (unavailable whenever the connection
// itself is gone), text = SQLSTATE, primary message and constraint, never the DETAIL line
// (it quotes row values).
ClientError statement_error(const pg_result* result, pg_conn* conn, std::string_view secret);

// A connection-level failure (connect, send, receive) of `kind`, prefixed with `what`.
ClientError connection_error(ErrorKind kind, std::string_view what, pg_conn* conn, std::string_view secret);

// A duration as error texts give it: "5000 ms".
inline std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

inline ClientError error(ErrorKind kind, const std::string& message) {
    return ClientError{kind, Dependency::postgres, message};
}

}  // namespace cvgate::clients::postgres::impl
