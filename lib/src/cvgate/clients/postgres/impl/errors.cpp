#include <cvgate/clients/postgres/impl/errors.hpp>

#include <libpq-fe.h>

namespace cvgate::clients::postgres::impl {

ErrorKind kind_of_sqlstate(std::string_view s) noexcept {
    if (s == "23505" || s == "40001" || s == "40P01") return ErrorKind::conflict;
    // insert/update naming a row that does not exist (here: a cv_analyses row for an unknown job)
    if (s == "23503") return ErrorKind::not_found;
    // data exceptions (22: a NUL in jsonb, a bad timestamp, a value out of range) and values a
    // column refuses (not null, check): the data is wrong, the server is fine.
    if (s == "23502" || s == "23514" || (s.size() == 5 && s.substr(0, 2) == "22"))
        return ErrorKind::invalid_data;
    // 57014: canceled (our deadline or statement_timeout); 55P03: lock_timeout
    if (s == "57014" || s == "55P03") return ErrorKind::timeout;
    // shutting down, crashed, starting up, out of connections or disk, read-only standby
    if (s == "57P01" || s == "57P02" || s == "57P03" || s == "25006") return ErrorKind::unavailable;
    if (s.size() == 5 && (s.substr(0, 2) == "08" || s.substr(0, 2) == "53" || s.substr(0, 2) == "58"))
        return ErrorKind::unavailable;
    return ErrorKind::rejected;
}

std::string safe_text(std::string_view message, std::string_view secret) {
    message = message.substr(0, message.find('\n'));
    while (!message.empty() && (message.back() == ' ' || message.back() == '\r' || message.back() == '\t'))
        message.remove_suffix(1);
    std::string text{message};
    if (secret.size() >= 3) {
        for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
            text.replace(at, secret.size(), "***");
    }
    if (text.empty()) text = "no error message";
    return text;
}

std::string password_of(const std::string& url) {
    char* errmsg = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &errmsg);
    if (errmsg) PQfreemem(errmsg);
    if (!options) throw error(ErrorKind::rejected, "invalid connection URL (not shown)");
    std::string password;
    for (auto* o = options; o->keyword; ++o)
        if (std::string_view{o->keyword} == "password" && o->val) password = o->val;
    PQconninfoFree(options);
    return password;
}

ClientError statement_error(const pg_result* result, pg_conn* conn, std::string_view secret) {
    const bool lost = conn == nullptr || PQstatus(conn) == CONNECTION_BAD;
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const char* constraint = result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;

    std::string text;
    if (state) text += "SQLSTATE " + std::string{state} + ": ";
    if (primary) {
        text += safe_text(primary, secret);
    } else if (result) {
        text += safe_text(PQresultErrorMessage(result), secret);
    } else if (conn) {
        text += safe_text(PQerrorMessage(conn), secret);
    }
    if (constraint) text += " (constraint " + std::string{constraint} + ")";

    ErrorKind kind = state ? kind_of_sqlstate(state) : ErrorKind::rejected;
    if (lost) kind = ErrorKind::unavailable;
    if (lost && !state) text = "connection lost: " + text;
    // Class 28: invalid authorization specification.
    const Cause cause = state && std::string_view{state}.starts_with("28") ? Cause::auth
                        : kind == ErrorKind::timeout                       ? Cause::timeout
                                                                           : cause_of_text(text);
    return ClientError{kind, Dependency::postgres, text, cause};
}

ClientError connection_error(ErrorKind kind, std::string_view what, pg_conn* conn, std::string_view secret) {
    std::string text{what};
    if (conn) text += ": " + safe_text(PQerrorMessage(conn), secret);
    // libpq says why only in words: "Connection refused", "password authentication failed".
    return ClientError{kind, Dependency::postgres, text,
                       cause_of_text(text, kind == ErrorKind::timeout ? Cause::timeout : Cause::error)};
}

}  // namespace cvgate::clients::postgres::impl
