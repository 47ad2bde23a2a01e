#include <cvgate/clients/mongo/impl/connection_pool.hpp>

#include <cvgate/clients/mongo/impl/errors.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <string_view>

namespace cvgate::clients::mongo::impl {
namespace {

// The URL itself and its userinfo ("user:password" before '@'), whole and in parts, as
// written (percent-encoded or not): enough to scrub any echo of them from a driver message.
std::vector<std::string> secrets_of(std::string_view url) {
    std::vector<std::string> secrets{std::string{url}};
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return secrets;
    std::string_view rest = url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find_first_of("/?"));
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos) return secrets;
    const std::string_view userinfo = rest.substr(0, at);
    secrets.emplace_back(userinfo);
    const auto colon = userinfo.find(':');
    secrets.emplace_back(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) secrets.emplace_back(userinfo.substr(colon + 1));
    return secrets;
}

std::int32_t clamp_ms(std::chrono::milliseconds ms) {
    return static_cast<std::int32_t>(std::clamp<std::chrono::milliseconds::rep>(ms.count(), 1, INT32_MAX));
}

}  // namespace

ConnectionPool::ConnectionPool(const Options& options)
    : runtime_{Runtime::acquire()}, secrets_{secrets_of(options.url)} {
    bson_error_t error;
    uri_.reset(mongoc_uri_new_with_error(options.url.c_str(), &error));
    if (!uri_)
        throw ClientError{ErrorKind::rejected, Dependency::mongo,
                          redact("invalid URL: " + std::string{error.message}, secrets_)};
    if (const char* password = mongoc_uri_get_password(uri_.get())) secrets_.emplace_back(password);

    const auto set_default = [&](const char* option, std::int32_t value) {
        if (!mongoc_uri_has_option(uri_.get(), option))
            mongoc_uri_set_option_as_int32(uri_.get(), option, value);
    };
    set_default(MONGOC_URI_SERVERSELECTIONTIMEOUTMS, clamp_ms(options.server_selection_timeout));
    set_default(MONGOC_URI_CONNECTTIMEOUTMS, clamp_ms(options.connect_timeout));
    set_default(MONGOC_URI_SOCKETTIMEOUTMS, clamp_ms(options.socket_timeout));
    if (options.max_connections > 0)
        set_default(MONGOC_URI_MAXPOOLSIZE,
                    static_cast<std::int32_t>(std::min<std::size_t>(options.max_connections, INT32_MAX)));
    if (!options.app_name.empty() && !mongoc_uri_has_option(uri_.get(), MONGOC_URI_APPNAME))
        mongoc_uri_set_appname(uri_.get(), options.app_name.c_str());

    pool_.reset(mongoc_client_pool_new_with_error(uri_.get(), &error));
    if (!pool_)
        throw ClientError{ErrorKind::rejected, Dependency::mongo,
                          redact("cannot create a connection pool: " + std::string{error.message}, secrets_)};
    // Version 2 reports server errors in MONGOC_ERROR_SERVER with the server's own code.
    mongoc_client_pool_set_error_api(pool_.get(), MONGOC_ERROR_API_VERSION_2);
}

}  // namespace cvgate::clients::mongo::impl
