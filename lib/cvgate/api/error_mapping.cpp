#include <cvgate/api/error_mapping.hpp>

#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/offload.hpp>
#include <cvgate/jobs/error.hpp>

#include <boost/beast/http/field.hpp>

namespace cvgate::api {
namespace {

http::Status status_of(jobs::ErrorKind kind) {
    switch (kind) {
        case jobs::ErrorKind::bad_request:
            return http::Status::bad_request;
        case jobs::ErrorKind::not_found:
            return http::Status::not_found;
        case jobs::ErrorKind::conflict:
            return http::Status::conflict;
        case jobs::ErrorKind::too_large:
            return http::Status::payload_too_large;
        case jobs::ErrorKind::invalid_form:
            return http::Status::unprocessable_entity;
        case jobs::ErrorKind::unavailable:
            return http::Status::service_unavailable;
    }
    return http::Status::internal_server_error;
}

http::Response unavailable(std::string_view detail) {
    auto res = http::error_response(http::Status::service_unavailable, detail);
    res.set(boost::beast::http::field::retry_after, "5");
    return res;
}

std::string_view dependency_name(std::string_view dependency) {
    if (dependency == "mongo") return "Hot storage (MongoDB)";
    if (dependency == "postgres") return "Cold storage (PostgreSQL)";
    if (dependency == "rabbitmq") return "Job queue (RabbitMQ)";
    if (dependency == "volume") return "Upload volume";
    return "A dependency";
}

}  // namespace

std::optional<http::Response> error_to_response(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const jobs::Error& e) {
        auto res = http::error_response(status_of(e.kind()), e.detail());
        if (e.kind() == jobs::ErrorKind::unavailable) res.set(boost::beast::http::field::retry_after, "5");
        return res;
    } catch (const clients::ClientError& e) {
        // The dependency answered: it cannot store these values. Retrying would fail the same way.
        if (e.kind() == clients::ErrorKind::invalid_data)
            return http::error_response(
                http::Status::unprocessable_entity,
                std::string{dependency_name(e.dependency())} + " cannot store this data: " + e.message());
        if (e.kind() == clients::ErrorKind::timeout)
            return unavailable(std::string{dependency_name(e.dependency())} + " timed out");
        return unavailable(std::string{dependency_name(e.dependency())} + " is unavailable");
    } catch (const exec::DeadlineExceeded&) {
        return unavailable("A dependency timed out");
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace cvgate::api
