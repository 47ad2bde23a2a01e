#include <cvgate/clients/client_error.hpp>

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
    }
    return "error";
}

}  // namespace cvgate::clients
