#include <cvgate/clients/amqp/impl/endpoint.hpp>

#include <amqp.h>

#include <stdexcept>
#include <vector>

namespace cvgate::clients::amqp::impl {

std::string Endpoint::describe() const {
    return host + ":" + std::to_string(port) + (vhost == "/" ? "" : " vhost " + vhost);
}

Endpoint parse_endpoint(std::string_view url) {
    // amqp_parse_url writes into its argument and points the result into it.
    std::vector<char> copy(url.begin(), url.end());
    copy.push_back('\0');
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
        throw std::invalid_argument{"the RabbitMQ URL is not a valid amqp:// URL"};
    }
    if (info.ssl) throw std::invalid_argument{"amqps:// RabbitMQ URLs (TLS) are not supported"};

    Endpoint endpoint;
    endpoint.host = info.host;
    endpoint.port = info.port;
    endpoint.vhost = *info.vhost ? info.vhost : "/";
    endpoint.user = info.user;
    endpoint.password = info.password;
    return endpoint;
}

}  // namespace cvgate::clients::amqp::impl
