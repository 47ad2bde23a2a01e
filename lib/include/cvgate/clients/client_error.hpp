#pragma once
// The one error type the dependency clients throw: what went wrong, in which dependency, in
// words that are safe to log (never a URL with credentials, never a password).

#include <cvgate/exec/settlement.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cvgate::clients {

enum class ErrorKind {
    unavailable,   // cannot connect, connection lost, server refuses service
    timeout,       // no answer within the call's deadline
    conflict,      // a uniqueness constraint or a concurrent change
    not_found,     // the thing addressed does not exist
    rejected,      // the server refused this request (nack, unroutable, bad query)
    invalid_data,  // the server cannot store these values (SQLSTATE class 22, a NUL in a text)
};

std::string_view to_string(ErrorKind kind) noexcept;

// The server a client speaks to, as a ClientError's text starts with it.
enum class Dependency { postgres, mongo, rabbitmq };

std::string_view to_string(Dependency dependency) noexcept;

// Why a dependency could not be used, in the few words a probe's answer may carry (no host,
// port or driver text): nothing listens there, it did not answer in time, it refused the
// credentials, or anything else.
enum class Cause { refused, timeout, auth, error };

std::string_view to_string(Cause cause) noexcept;

// The cause a driver's own message names ("Connection refused", "password authentication
// failed"...), for drivers that give no better signal; `fallback` when it names none.
Cause cause_of_text(std::string_view driver_message, Cause fallback = Cause::error) noexcept;

// A failure whose call had been sent carries the call's Settlement (exec::Doubt): the call may
// have taken effect, or still may; settlement() resolves once that is known.
class ClientError : public std::runtime_error, public exec::Doubt {
public:
    ClientError(ErrorKind kind, Dependency dependency, const std::string& message)
        : ClientError{kind, dependency, message, kind == ErrorKind::timeout ? Cause::timeout : Cause::error} {
    }
    ClientError(ErrorKind kind, Dependency dependency, const std::string& message, Cause cause)
        : std::runtime_error{std::string{to_string(dependency)} + " " + std::string{to_string(kind)} + ": " +
                             message},
          kind_{kind},
          cause_{cause},
          dependency_{dependency},
          message_{message} {}
    // A failure of a call that may have taken effect or still may: a timeout, or a connection
    // lost after the call was sent.
    static ClientError in_doubt(Dependency dependency, const std::string& message,
                                std::shared_ptr<exec::Settlement> settlement,
                                ErrorKind kind = ErrorKind::timeout) {
        ClientError e{kind, dependency, message};
        static_cast<exec::Doubt&>(e) = exec::Doubt{std::move(settlement)};
        return e;
    }

    ErrorKind kind() const noexcept { return kind_; }
    Cause cause() const noexcept { return cause_; }
    // What went wrong, without the dependency and kind what() starts with.
    const std::string& message() const noexcept { return message_; }
    Dependency dependency() const noexcept { return dependency_; }

private:
    ErrorKind kind_;
    Cause cause_;
    Dependency dependency_;
    std::string message_;
};

}  // namespace cvgate::clients
