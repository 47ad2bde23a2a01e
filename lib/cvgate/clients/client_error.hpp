#pragma once
// The one error type the dependency clients throw: what went wrong, in which dependency, in
// words that are safe to log (never a URL with credentials, never a password).

#include <stdexcept>
#include <string>
#include <string_view>

namespace cvgate::clients {

enum class ErrorKind {
    unavailable,  // cannot connect, connection lost, server refuses service
    timeout,      // no answer within the call's deadline
    conflict,     // a uniqueness constraint or a concurrent change
    not_found,    // the thing addressed does not exist
    rejected,     // the server refused this request (nack, unroutable, bad query)
};

std::string_view to_string(ErrorKind kind) noexcept;

class ClientError : public std::runtime_error {
public:
    ClientError(ErrorKind kind, std::string_view dependency, const std::string& message)
        : std::runtime_error{std::string{dependency} + " " + std::string{to_string(kind)} + ": " + message},
          kind_{kind},
          dependency_{dependency} {}

    ErrorKind kind() const noexcept { return kind_; }
    std::string_view dependency() const noexcept { return dependency_; }

private:
    ErrorKind kind_;
    std::string_view dependency_;  // a string literal: "postgres", "mongo", "rabbitmq", "volume"
};

}  // namespace cvgate::clients
