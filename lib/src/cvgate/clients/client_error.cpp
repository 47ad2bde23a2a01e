#include <cvgate/clients/client_error.hpp>

#include <algorithm>
#include <cctype>
#include <string>

namespace cvgate::clients {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::unavailable:
            return "unavailable";
        case ErrorKind::timeout:
            return "timeout";
        case ErrorKind::conflict:
            return "conflict";
        case ErrorKind::not_found:
            return "not found";
        case ErrorKind::rejected:
            return "rejected";
        case ErrorKind::invalid_data:
            return "invalid data";
    }
    return "error";
}

std::string_view to_string(Dependency dependency) noexcept {
    switch (dependency) {
        case Dependency::postgres:
            return "postgres";
        case Dependency::mongo:
            return "mongo";
        case Dependency::rabbitmq:
            return "rabbitmq";
    }
    return "dependency";
}

std::string_view to_string(Cause cause) noexcept {
    switch (cause) {
        case Cause::refused:
            return "refused";
        case Cause::timeout:
            return "timeout";
        case Cause::auth:
            return "auth";
        case Cause::error:
            return "error";
    }
    return "error";
}

Cause cause_of_text(std::string_view driver_message, Cause fallback) noexcept {
    std::string lower{driver_message};
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const auto says = [&lower](std::string_view words) { return lower.find(words) != std::string::npos; };
    // libpq, mongo-c-driver and rabbitmq-c each spell these in their own words.
    if (says("authentication") || says("password") || says("access_refused") || says("access refused") ||
        says("pg_hba.conf") || says("not authorized") || says("login"))
        return Cause::auth;
    if (says("connection refused") || says("econnrefused")) return Cause::refused;
    if (says("timed out") || says("timeout")) return Cause::timeout;
    return fallback;
}

}  // namespace cvgate::clients
