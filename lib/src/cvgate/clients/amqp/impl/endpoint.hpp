#pragma once
// Where and as whom to connect to RabbitMQ, read from an amqp:// URL.

#include <string>
#include <string_view>

namespace cvgate::clients::amqp::impl {

struct Endpoint {
    std::string host;
    int port = 5672;
    std::string vhost = "/";
    std::string user;
    std::string password;

    // "host:port/vhost": safe to put in an error message (no credentials).
    std::string describe() const;
};

// Parses with rabbitmq-c's own amqp_parse_url. An empty path means the vhost "/", as the
// pipeline's Python clients read it. Throws std::invalid_argument (without echoing the
// URL, which may hold a password) for a malformed URL or an amqps:// one (no TLS here).
Endpoint parse_endpoint(std::string_view url);

}  // namespace cvgate::clients::amqp::impl
