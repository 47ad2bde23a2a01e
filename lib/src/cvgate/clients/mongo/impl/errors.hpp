#pragma once
// mongo-c-driver errors as clients::ClientError: which kind of failure it is, and a message
// with no secret in it.

#include <cvgate/clients/client_error.hpp>

#include <bson/bson.h>

#include <string>
#include <string_view>
#include <vector>

namespace cvgate::clients::mongo::impl {

ErrorKind classify(const bson_error_t& error) noexcept;

// `text` with every occurrence of each (non-empty) secret replaced by "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

// "<operation> <collection>: <driver message> (code N)" as the error for `error`'s kind.
ClientError driver_error(const bson_error_t& error, std::string_view operation, std::string_view collection,
                         const std::vector<std::string>& secrets);

}  // namespace cvgate::clients::mongo::impl
