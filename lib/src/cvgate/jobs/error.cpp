#include <cvgate/jobs/error.hpp>

namespace cvgate::jobs {

std::string_view to_string(DependencyError::Cause cause) noexcept {
    switch (cause) {
        case DependencyError::Cause::refused:
            return "refused";
        case DependencyError::Cause::timeout:
            return "timeout";
        case DependencyError::Cause::auth:
            return "auth";
        case DependencyError::Cause::error:
            return "error";
    }
    return "error";
}

}  // namespace cvgate::jobs
