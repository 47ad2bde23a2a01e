#include <cvgate/api/error_mapping.hpp>

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

// How an answer names the dependency (CONTRACT.md's words).
std::string_view dependency_name(jobs::Dependency dependency) {
    switch (dependency) {
        case jobs::Dependency::hot_storage:
            return "Hot storage (MongoDB)";
        case jobs::Dependency::cold_storage:
            return "Cold storage (PostgreSQL)";
        case jobs::Dependency::job_queue:
            return "Job queue (RabbitMQ)";
        case jobs::Dependency::upload_volume:
            return "Upload volume";
    }
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
    } catch (const jobs::DependencyError& e) {
        const std::string dependency{dependency_name(e.dependency())};
        switch (e.kind()) {
            case jobs::DependencyError::Kind::invalid_data:
                // The dependency answered: it cannot store these values. Retrying would fail the same way.
                return http::error_response(http::Status::unprocessable_entity,
                                            dependency + " cannot store this data: " + e.message());
            case jobs::DependencyError::Kind::timeout:
                return unavailable(dependency + " timed out");
            case jobs::DependencyError::Kind::unavailable:
                break;
        }
        return unavailable(dependency + " is unavailable");
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace cvgate::api
